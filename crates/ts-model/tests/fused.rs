//! The fused LSTM operation (custom forward + hand-written BPTT) against the tensor-op layers it
//! replaces, against finite differences of the `f64` reference, and inside the forecaster.

use burn::module::Module;
use burn::tensor::{Device, Gradients, Tensor, TensorData};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ts_model::{
    DropoutRng, FusedLstm, LstmKernel, ModelConfig, ModelKind, fused_stack, reference_lstm_layer,
};

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn random(rng: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-scale..scale)).collect()
}

#[derive(Debug, Clone, Copy)]
struct Case {
    batch: usize,
    steps: usize,
    input: usize,
    hidden: usize,
    layers: usize,
    dropout: bool,
    seed: u64,
}

/// Output and gradients (x, then per layer w_ih, w_hh, b_ih, b_hh) of `loss = Σ out ⊙ r`.
struct Run {
    out: Vec<f32>,
    grads: Vec<Vec<f32>>,
}

fn run(c: Case, fused: bool) -> Run {
    let device = Device::flex().autodiff();
    let mut rng = StdRng::seed_from_u64(c.seed);
    let layers: Vec<FusedLstm> = (0..c.layers)
        .map(|l| {
            let i = if l == 0 { c.input } else { c.hidden };
            FusedLstm::new(i, c.hidden, &mut rng, &device)
        })
        .collect();
    let tb = c.steps * c.batch;
    let x = Tensor::<2>::from_data(
        TensorData::new(random(&mut rng, tb * c.input, 2.0), [tb, c.input]),
        &device,
    )
    .require_grad();
    let r = Tensor::<2>::from_data(
        TensorData::new(random(&mut rng, tb * c.hidden, 1.0), [tb, c.hidden]),
        &device,
    );
    let mut drop = DropoutRng::new(0.3, c.seed + 7);
    let masks =
        (c.dropout && c.layers > 1).then(|| drop.mask((c.layers - 1) * tb * c.hidden).unwrap());
    let out = if fused {
        fused_stack(&layers, x.clone(), c.steps, masks, true)
    } else {
        let mut seq = x.clone();
        let per = tb * c.hidden;
        let mut out = None;
        for (l, layer) in layers.iter().enumerate() {
            let o = layer.forward_time_major(seq.clone(), c.steps, true);
            if l + 1 < c.layers {
                seq = match &masks {
                    Some(m) => {
                        let m = m[l * per..(l + 1) * per].to_vec();
                        o * Tensor::<2>::from_data(TensorData::new(m, [tb, c.hidden]), &device)
                    }
                    None => o,
                };
            } else {
                out = Some(o);
            }
        }
        out.unwrap()
    };
    let loss = (out.clone() * r).sum();
    let g = loss.backward();
    let mut grads = vec![to_vec(x.grad(&g).expect("x gradient"))];
    // A parameter that does not reach the loss has no gradient in the tensor-op graph (w_hh with a
    // single time step); the fused op reports zeros for it.
    for layer in &layers {
        grads.push(grad_or_zero(layer.weight_ih.val(), &g));
        grads.push(grad_or_zero(layer.weight_hh.val(), &g));
        grads.push(grad_or_zero(layer.bias_ih.val(), &g));
        grads.push(grad_or_zero(layer.bias_hh.val(), &g));
    }
    Run {
        out: to_vec(out),
        grads,
    }
}

fn grad_or_zero<const D: usize>(t: Tensor<D>, g: &Gradients) -> Vec<f32> {
    let n = t.shape().num_elements();
    t.grad(g).map(to_vec).unwrap_or_else(|| vec![0.0; n])
}

fn assert_close(what: &str, a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let scale = 1.0f32.max(x.abs()).max(y.abs());
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{k}]: fused {x} vs tensor ops {y}"
        );
    }
}

fn compare(c: Case) {
    let f = run(c, true);
    let t = run(c, false);
    assert_close("output", &f.out, &t.out, 1e-5);
    let names = ["w_ih", "w_hh", "b_ih", "b_hh"];
    assert_close("dx", &f.grads[0], &t.grads[0], 1e-5);
    for (k, (a, b)) in f.grads[1..].iter().zip(&t.grads[1..]).enumerate() {
        assert_close(&format!("layer {} {}", k / 4, names[k % 4]), a, b, 1e-5);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn fused_equals_tensor_ops(
        batch in 1usize..40,
        steps in 1usize..9,
        input in 1usize..7,
        hidden in 1usize..24,
        layers in 1usize..4,
        dropout in any::<bool>(),
        seed in 0u64..1000,
    ) {
        compare(Case { batch, steps, input, hidden, layers, dropout, seed });
    }
}

#[test]
fn fused_equals_tensor_ops_at_the_seed_config() {
    // hidden 64, two layers, 12 steps, batch 32 (two chunks), five features, with dropout.
    compare(Case {
        batch: 32,
        steps: 12,
        input: 5,
        hidden: 64,
        layers: 2,
        dropout: true,
        seed: 3,
    });
    // A large batch: eight chunks of uneven size.
    compare(Case {
        batch: 203,
        steps: 3,
        input: 2,
        hidden: 8,
        layers: 3,
        dropout: false,
        seed: 4,
    });
}

/// Loss `Σ_t Σ_j r[t][j] h_top[t][j]` for one sequence through the `f64` reference layers.
fn reference_loss(x: &[Vec<f64>], p: &[Vec<f64>], sizes: &[(usize, usize)], r: &[f64]) -> f64 {
    let mut seq = x.to_vec();
    for (l, &(_, h)) in sizes.iter().enumerate() {
        let w = &p[4 * l..4 * l + 4];
        seq = reference_lstm_layer(&seq, &w[0], &w[1], &w[2], &w[3], h);
    }
    seq.iter().flatten().zip(r).map(|(a, b)| a * b).sum()
}

#[test]
fn gradients_match_finite_differences_of_the_f64_reference() {
    // One sequence, two layers, I = 3, H = 4, T = 5: every input and every parameter.
    let (steps, input, hidden) = (5usize, 3usize, 4usize);
    let device = Device::flex().autodiff();
    let mut rng = StdRng::seed_from_u64(11);
    let layers = [
        FusedLstm::new(input, hidden, &mut rng, &device),
        FusedLstm::new(hidden, hidden, &mut rng, &device),
    ];
    let xv = random(&mut rng, steps * input, 1.5);
    let rv = random(&mut rng, steps * hidden, 1.0);
    let x =
        Tensor::<2>::from_data(TensorData::new(xv.clone(), [steps, input]), &device).require_grad();
    let r = Tensor::<2>::from_data(TensorData::new(rv.clone(), [steps, hidden]), &device);
    let loss = (fused_stack(&layers, x.clone(), steps, None, true) * r).sum();
    let g = loss.backward();
    let mut analytic = vec![to_vec(x.grad(&g).unwrap())];
    let mut params: Vec<Vec<f64>> = Vec::new();
    for l in &layers {
        for t in [l.weight_ih.val(), l.weight_hh.val()] {
            analytic.push(to_vec(t.grad(&g).unwrap()));
            params.push(to_vec(t.inner()).iter().map(|&v| v as f64).collect());
        }
        for t in [l.bias_ih.val(), l.bias_hh.val()] {
            analytic.push(to_vec(t.grad(&g).unwrap()));
            params.push(to_vec(t.inner()).iter().map(|&v| v as f64).collect());
        }
    }
    let sizes = [(input, hidden), (hidden, hidden)];
    let xs: Vec<Vec<f64>> = xv
        .chunks(input)
        .map(|c| c.iter().map(|&v| v as f64).collect())
        .collect();
    let r64: Vec<f64> = rv.iter().map(|&v| v as f64).collect();
    let eps = 1e-6;
    // Inputs.
    for (k, &an) in analytic[0].iter().enumerate() {
        let (t, i) = (k / input, k % input);
        let mut a = xs.clone();
        let mut b = xs.clone();
        a[t][i] += eps;
        b[t][i] -= eps;
        let fd = (reference_loss(&a, &params, &sizes, &r64)
            - reference_loss(&b, &params, &sizes, &r64))
            / (2.0 * eps);
        assert!((fd - an as f64).abs() < 2e-5, "dx[{k}]: {fd} vs {an}");
    }
    // Parameters.
    for (pi, p) in params.iter().enumerate() {
        for k in 0..p.len() {
            let mut a = params.clone();
            let mut b = params.clone();
            a[pi][k] += eps;
            b[pi][k] -= eps;
            let fd = (reference_loss(&xs, &a, &sizes, &r64)
                - reference_loss(&xs, &b, &sizes, &r64))
                / (2.0 * eps);
            let an = analytic[pi + 1][k] as f64;
            assert!((fd - an).abs() < 2e-5, "param {pi}[{k}]: {fd} vs {an}");
        }
    }
}

#[test]
fn forecaster_is_the_same_with_either_kernel() {
    // Inference and one training gradient of a whole forecaster (attention, ensemble, dropout).
    let device = Device::flex().autodiff();
    for kind in [ModelKind::Lstm, ModelKind::Attention] {
        let mut cfg = ModelConfig::new(4, vec![1, 3]);
        cfg.kind = kind;
        cfg.hidden_size = 16;
        cfg.num_layers = 2;
        cfg.horizon = 2;
        cfg.ensemble = 2;
        let fused = cfg.init(5, &device).unwrap();
        let plain = cfg
            .init(5, &device)
            .unwrap()
            .with_kernel(LstmKernel::TensorOps);
        let mut rng = StdRng::seed_from_u64(9);
        let x = Tensor::<3>::from_data(
            TensorData::new(random(&mut rng, 7 * 6 * 4, 1.0), [7, 6, 4]),
            &device,
        );
        let run = |m: &ts_model::Forecaster| {
            let mut d = DropoutRng::new(0.2, 1);
            let out = m.forward_full(x.clone(), Some(&mut d)).prediction;
            let g = out.clone().powf_scalar(2.0).sum().backward();
            let w = m.members[0].layers[0].weight_hh.val().grad(&g).unwrap();
            (to_vec(out), to_vec(w))
        };
        let (a, ga) = run(&fused);
        let (b, gb) = run(&plain);
        assert_close("prediction", &a, &b, 1e-5);
        assert_close("gradient", &ga, &gb, 1e-5);
        let inf_a = to_vec(fused.valid().forward(x.clone().inner()));
        let inf_b = to_vec(plain.valid().forward(x.clone().inner()));
        assert_close("inference", &inf_a, &inf_b, 1e-5);
    }
}

/// `fused_stack` asked for the last step only equals the all-steps output narrowed to it, and so do
/// the gradients of a loss on it (training, with and without dropout masks) and the inference
/// output (plain device).
#[test]
fn the_last_step_output_equals_the_narrowed_all_steps_output() {
    for (batch, steps, input, hidden, layers, dropout) in [
        (5usize, 7usize, 3usize, 16usize, 2usize, false),
        (33, 4, 2, 9, 3, true),
        (1, 12, 3, 64, 2, false),
    ] {
        let tb = steps * batch;
        let run = |all: bool, device: &Device| {
            let mut rng = StdRng::seed_from_u64(5);
            let layer_list: Vec<FusedLstm> = (0..layers)
                .map(|l| {
                    let i = if l == 0 { input } else { hidden };
                    FusedLstm::new(i, hidden, &mut rng, device)
                })
                .collect();
            let x = Tensor::<2>::from_data(
                TensorData::new(random(&mut rng, tb * input, 2.0), [tb, input]),
                device,
            );
            let x = if device.is_autodiff() {
                x.require_grad()
            } else {
                x
            };
            let r = Tensor::<2>::from_data(
                TensorData::new(random(&mut rng, batch * hidden, 1.0), [batch, hidden]),
                device,
            );
            let masks = dropout
                .then(|| DropoutRng::new(0.3, 9).mask((layers - 1) * tb * hidden))
                .flatten();
            let out = fused_stack(&layer_list, x.clone(), steps, masks, all);
            let out = if all {
                out.narrow(0, (steps - 1) * batch, batch)
            } else {
                out
            };
            let values = to_vec(out.clone());
            let grads = device.is_autodiff().then(|| {
                let g = (out * r).sum().backward();
                let mut v = vec![to_vec(x.grad(&g).unwrap())];
                for l in &layer_list {
                    v.push(to_vec(l.weight_ih.val().grad(&g).unwrap()));
                    v.push(to_vec(l.weight_hh.val().grad(&g).unwrap()));
                    v.push(to_vec(l.bias_ih.val().grad(&g).unwrap()));
                }
                v
            });
            (values, grads)
        };
        let ad = Device::flex().autodiff();
        let (a_out, a_grads) = run(true, &ad);
        let (l_out, l_grads) = run(false, &ad);
        assert_eq!(a_out, l_out, "training forward, batch {batch}");
        for (a, l) in a_grads.unwrap().iter().zip(&l_grads.unwrap()) {
            for (x, y) in a.iter().zip(l) {
                assert!((x - y).abs() < 1e-6, "gradient {x} vs {y}, batch {batch}");
            }
        }
        if !dropout {
            let plain = Device::flex();
            let (a_inf, _) = run(true, &plain);
            let (l_inf, _) = run(false, &plain);
            assert_eq!(a_inf, l_inf, "inference, batch {batch}");
            for (x, y) in a_inf.iter().zip(&a_out) {
                assert!(
                    (x - y).abs() < 1e-5,
                    "inference {x} vs training forward {y}"
                );
            }
        }
    }
}
