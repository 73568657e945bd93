//! The fused LSTM stack as a custom Burn operation (Burn's backend extension).
//!
//! [`LstmBackend::lstm_stack`] runs every layer over every time step in one call. On the flex CPU
//! backend it runs the kernels of [`crate::kernel`]; on `Autodiff<Flex>` it records one graph node
//! whose backward pass is the hand-written BPTT of [`crate::kernel::backward`] (gradients for the
//! input and for every parameter). Other backends (wgpu) are not routed here: [`crate::lstm`]
//! falls back to the tensor-op layer for them, see [`fused_available`].

#![allow(missing_docs)] // the macro generates undocumented items

use std::borrow::Cow;
use std::sync::Arc;

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchDevice, backend_extension};
use burn::tensor::{Device, TensorData};

use crate::kernel::{self, StackShape, Tape};

/// Backends that run the fused LSTM stack as one operation.
#[backend_extension(Flex, Autodiff)]
pub trait LstmBackend: Backend {
    /// The stacked LSTM over a time-major flattened sequence `x [T·B, I]` with zero initial state.
    /// `params` packs, per layer, `weight_ih [4H, I_l]`, `weight_hh [4H, H]`, `bias_ih [4H]`,
    /// `bias_hh [4H]` (flattened, layers in order); `masks` holds `layers - 1` inverted dropout masks
    /// `[T·B, H]` applied to the outputs of all but the top layer when `use_masks`. Returns the top
    /// layer's hidden states `[T·B, H]`, time-major, when `all_steps`, else those of the last step
    /// `[B, H]` (all a model without attention reads).
    #[allow(clippy::too_many_arguments)]
    fn lstm_stack(
        x: FloatTensor<Self>,
        params: FloatTensor<Self>,
        masks: FloatTensor<Self>,
        steps: usize,
        hidden: usize,
        layers: usize,
        use_masks: bool,
        all_steps: bool,
    ) -> FloatTensor<Self>;
}

/// Whether `device` runs the fused operation (flex, with or without autodiff).
pub fn fused_available(device: &Device) -> bool {
    match device.as_dispatch() {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// The values of a flex tensor as a contiguous `f32` slice (copied only when it is a strided view).
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(
            t.to_contiguous()
                .into_data()
                .try_into_vec::<f32>()
                .expect("lstm_stack works on f32 tensors"),
        ),
    }
}

fn tensor(v: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

fn shape_of(x: &FlexTensor, steps: usize, hidden: usize, layers: usize) -> StackShape {
    let dims = x.layout().shape();
    assert_eq!(dims.num_dims(), 2, "lstm_stack: x must be [T·B, I]");
    let (tb, input) = (dims[0], dims[1]);
    assert!(
        steps > 0 && tb % steps == 0,
        "lstm_stack: {tb} rows are not a multiple of {steps} steps"
    );
    StackShape {
        steps,
        batch: tb / steps,
        input,
        hidden,
        layers,
    }
}

fn run(
    sh: StackShape,
    x: &FlexTensor,
    params: &FlexTensor,
    masks: &FlexTensor,
    use_masks: bool,
    keep_tape: bool,
    all_steps: bool,
) -> (FlexTensor, Option<Tape>) {
    let xs = values(x);
    let ps = values(params);
    let ms = use_masks.then(|| values(masks));
    let (out, tape) = kernel::forward(sh, &xs, &ps, ms.as_deref(), keep_tape, all_steps);
    let rows = if all_steps {
        sh.steps * sh.batch
    } else {
        sh.batch
    };
    (tensor(out, vec![rows, sh.hidden]), tape)
}

impl LstmBackend for Flex {
    #[allow(clippy::too_many_arguments)]
    fn lstm_stack(
        x: FlexTensor,
        params: FlexTensor,
        masks: FlexTensor,
        steps: usize,
        hidden: usize,
        layers: usize,
        use_masks: bool,
        all_steps: bool,
    ) -> FlexTensor {
        let sh = shape_of(&x, steps, hidden, layers);
        run(sh, &x, &params, &masks, use_masks, false, all_steps).0
    }
}

/// The backward step of [`LstmBackend::lstm_stack`]: BPTT from the recorded [`Tape`].
#[derive(Debug)]
struct LstmStackBackward;

impl Backward<Flex, 2> for LstmStackBackward {
    type State = Arc<Tape>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, params_node] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let tape = ops.state;
        let sh = tape.shape();
        let d = values(&d_out);
        let (dx, dparams) = kernel::backward(&tape, &d, x_node.is_some());
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(dx, vec![sh.steps * sh.batch, sh.input]));
        }
        if let Some(node) = params_node {
            let n = dparams.len();
            grads.register::<Flex>(node.id, tensor(dparams, vec![n]));
        }
    }
}

impl<C: CheckpointStrategy> LstmBackend for Autodiff<Flex, C> {
    #[allow(clippy::too_many_arguments)]
    fn lstm_stack(
        x: FloatTensor<Self>,
        params: FloatTensor<Self>,
        masks: FloatTensor<Self>,
        steps: usize,
        hidden: usize,
        layers: usize,
        use_masks: bool,
        all_steps: bool,
    ) -> FloatTensor<Self> {
        let sh = shape_of(x.primitive(), steps, hidden, layers);
        let prep = LstmStackBackward
            .prepare::<C>([x.node(), params.node()])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(prep) => {
                let (out, tape) = run(
                    sh,
                    x.primitive(),
                    params.primitive(),
                    masks.primitive(),
                    use_masks,
                    true,
                    all_steps,
                );
                prep.finish(Arc::new(tape.expect("tape requested")), out)
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = run(
                    sh,
                    x.primitive(),
                    params.primitive(),
                    masks.primitive(),
                    use_masks,
                    false,
                    all_steps,
                );
                prep.finish(out)
            }
        }
    }
}
