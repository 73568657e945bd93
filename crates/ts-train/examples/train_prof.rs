//! Training time of the seed model (3 features, sequence 12, hidden 64, 2 layers, batch 32, Adam,
//! 338 windows) without the bench's inference passes, for profiling and A/B comparisons:
//! `cargo run --release --example train_prof -p ts-train -- EPOCHS` prints the median and the
//! fastest epoch (`RAYON_NUM_THREADS=1` for one thread).
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use ts_model::ModelConfig;

fn main() {
    let epochs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("EPOCHS is a number"))
        .unwrap_or(50)
        .max(1);
    let (n, seq, feat, batch) = (338usize, 12usize, 3usize, 32usize);
    let ad = Device::flex().autodiff();
    let mut c = ModelConfig::new(feat, vec![0]);
    c.hidden_size = 64;
    c.num_layers = 2;
    c.dropout = 0.0;
    c.residual = false;
    let mut model = Some(c.init(1, &ad).expect("config"));
    let mut optim = AdamConfig::new().init();
    let x: Vec<f32> = (0..n * seq * feat)
        .map(|i| ((i * 2654435761usize) % 1000) as f32 / 1000.0)
        .collect();
    let y: Vec<f32> = (0..n)
        .map(|i| ((i * 40503) % 1000) as f32 / 1000.0)
        .collect();
    let mut times = Vec::new();
    for _ in 0..epochs {
        let t0 = std::time::Instant::now();
        let mut s = 0;
        while s < n {
            let e = (s + batch).min(n);
            let xb = Tensor::<3>::from_data(
                TensorData::new(
                    x[s * seq * feat..e * seq * feat].to_vec(),
                    [e - s, seq, feat],
                ),
                &ad,
            );
            let yb = Tensor::<2>::from_data(TensorData::new(y[s..e].to_vec(), [e - s, 1]), &ad);
            let m = model.take().expect("model");
            let loss = (m.forward(xb) - yb).powi_scalar(2).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(1e-3, m, grads));
            s = e;
        }
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median {:.1} ms/epoch, min {:.1} ({} parameters)",
        times[times.len() / 2],
        times[0],
        model.expect("model").num_params()
    );
}
