//! The classification loss and the accuracy count that every training loop
//! shares: the search's weight and architecture steps, second-order DARTS'
//! unrolled step, training from scratch and the step benchmarks.

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::prelude::*;

use crate::network::Logits;

/// Mean cross-entropy of `logits` `[N, classes]` against `labels` `[N]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, labels)
}

/// How many rows of `logits` have their largest value at the label.
pub fn correct_count(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let correct = logits
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(labels)
        .int()
        .sum()
        .into_scalar::<i64>();
    correct.max(0) as usize
}

/// DARTS' training loss with the auxiliary head, under `loss` (plain or
/// label-smoothed cross-entropy): returns the main head's loss (the one a
/// run reports) and the loss to differentiate, `main + weight * aux` (just
/// `main` when the head gave no logits).
pub fn with_auxiliary(
    loss: &CrossEntropyLoss,
    out: Logits,
    labels: Tensor<1, Int>,
    weight: f64,
) -> (Tensor<1>, Tensor<1>) {
    let main = loss.forward(out.logits, labels.clone());
    let total = match out.aux {
        Some(aux) => main
            .clone()
            .add(loss.forward(aux, labels).mul_scalar(weight)),
        None => main.clone(),
    };
    (main, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_losses() {
        let device = Device::flex();
        let logits: Tensor<2> = Tensor::from_data([[2.0f32, 0.0], [0.0, 1.0], [3.0, 1.0]], &device);
        let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 0, 0], [3]), &device);
        assert_eq!(correct_count(logits.clone(), labels.clone()), 2);
        // ln(1 + e^-2), ln(1 + e^1), ln(1 + e^-2), averaged.
        let expected = ((1.0 + (-2.0f64).exp()).ln() * 2.0 + (1.0 + 1.0f64.exp()).ln()) / 3.0;
        let ce = f64::from(cross_entropy(logits.clone(), labels.clone()).into_scalar::<f32>());
        assert!((ce - expected).abs() < 1e-6, "{ce} vs {expected}");
        let out = Logits {
            logits: logits.clone(),
            aux: Some(logits),
        };
        let loss = CrossEntropyLossConfig::new().init(&device);
        let (main, total) = with_auxiliary(&loss, out, labels, 0.4);
        let (main, total) = (
            f64::from(main.into_scalar::<f32>()),
            f64::from(total.into_scalar::<f32>()),
        );
        assert!((main - expected).abs() < 1e-6);
        assert!((total - 1.4 * expected).abs() < 1e-5, "{total}");
    }
}
