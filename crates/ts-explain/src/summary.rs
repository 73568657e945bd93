//! The text summary of a [`Report`] that `tsf explain` prints.

use std::fmt::Write;

use crate::report::Report;

impl Report {
    /// Tables for a terminal: each method's feature importance (ranked, with shares), temporal
    /// importance at a few time steps, the mean attention weights, the method comparison and the
    /// explained windows' first and last `labels`. Every table starts with a blank line.
    pub fn summary(&self, labels: &[String]) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_summary(&mut out, labels);
        out
    }

    /// Writes every table of [`Report::summary`] into `out`.
    fn write_summary(&self, out: &mut String, labels: &[String]) -> std::fmt::Result {
        let width = self
            .features
            .iter()
            .map(|n| n.len())
            .max()
            .unwrap_or(7)
            .max(7);
        self.write_feature_importance(out, width)?;
        self.write_temporal_importance(out, width)?;
        self.write_attention(out)?;
        self.write_method_comparison(out)?;
        if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
            writeln!(out)?;
            writeln!(out, "Explained windows ending {first} … {last}")?;
        }
        Ok(())
    }

    /// Each method's features ranked by importance, with their shares; names padded to `width`.
    fn write_feature_importance(&self, out: &mut String, width: usize) -> std::fmt::Result {
        let names = &self.features;
        for m in self.attributed() {
            writeln!(out)?;
            writeln!(
                out,
                "Feature importance ({}, {:.2} s):",
                m.method.name(),
                m.seconds
            )?;
            if !m.measures_features() {
                writeln!(
                    out,
                    "  not measured: SHAP with time-step players values whole time steps, not \
                     features (--shap-players features or cells)"
                )?;
                continue;
            }
            let by_feature = &m.importance.by_feature;
            let total: f64 = by_feature.iter().sum();
            let mut order: Vec<usize> = (0..names.len()).collect();
            order.sort_by(|&a, &b| by_feature[b].total_cmp(&by_feature[a]));
            for (rank, &f) in order.iter().enumerate() {
                let v = by_feature[f];
                let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
                let name = &names[f];
                writeln!(
                    out,
                    "  {:>2}. {name:<width$}  {v:>12.6e}  {share:>5.1} %",
                    rank + 1
                )?;
            }
        }
        Ok(())
    }

    /// Temporal importance at a few time steps, with the first method that has attributions;
    /// columns `width` wide.
    fn write_temporal_importance(&self, out: &mut String, width: usize) -> std::fmt::Result {
        let Some(m) = self.temporal_method() else {
            return Ok(());
        };
        if self.steps == 0 || !m.measures_steps() {
            return Ok(());
        }
        let steps = self.steps;
        let mut picks: Vec<usize> = [0, 1, 2, 5, 11, 23]
            .into_iter()
            .filter(|&k| k < steps)
            .collect();
        if !picks.contains(&(steps - 1)) {
            picks.push(steps - 1);
        }
        writeln!(out)?;
        writeln!(
            out,
            "Temporal importance ({}; mean |attribution|, t-0 = the last input step):",
            m.method.name()
        )?;
        write!(out, "  {:<6}", "step")?;
        for n in &self.features {
            write!(out, "  {n:>width$}")?;
        }
        writeln!(out)?;
        for k in picks {
            write!(out, "  {:<6}", format!("t-{k}"))?;
            for v in &m.importance.temporal[steps - 1 - k] {
                write!(out, "  {v:>width$.3e}")?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    /// The mean attention weight per time step, if the report has attention.
    fn write_attention(&self, out: &mut String) -> std::fmt::Result {
        if let Some((_, mean)) = self.attention() {
            writeln!(out)?;
            writeln!(out, "Mean attention weight per time step (t-0 last):")?;
            let steps = mean.len();
            let line: Vec<String> = mean
                .iter()
                .enumerate()
                .rev()
                .map(|(t, v)| format!("t-{}: {v:.3}", steps - 1 - t))
                .collect();
            writeln!(out, "  {}", line.join("  "))?;
        }
        Ok(())
    }

    /// The Spearman correlations between the methods' feature importances, when there are
    /// several methods.
    fn write_method_comparison(&self, out: &mut String) -> std::fmt::Result {
        let cmp = &self.method_comparison;
        if cmp.methods.len() <= 1 {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(
            out,
            "Method comparison (Spearman rank correlation of feature importances):"
        )?;
        write!(out, "  {:<20}", "")?;
        for m in &cmp.methods {
            let short: String = m.name().chars().take(10).collect();
            write!(out, " {short:>10}")?;
        }
        writeln!(out)?;
        for (m, row) in cmp.methods.iter().zip(&cmp.spearman) {
            write!(out, "  {:<20}", m.name())?;
            for v in row {
                match v {
                    Some(x) => write!(out, " {x:>10.3}")?,
                    None => write!(out, " {:>10}", "n/a")?,
                }
            }
            writeln!(out)?;
        }
        Ok(())
    }
}
