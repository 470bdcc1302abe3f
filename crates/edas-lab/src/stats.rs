//! The statistics of the lab's reports: mean and sample standard
//! deviation, Welch's t interval for a difference of means, Holm's
//! adjustment of p-values.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// `(mean, sample std)`; std is `None` for one value.
pub fn mean_std(values: &[f64]) -> Option<(f64, Option<f64>)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() > 1)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, std))
}

/// Welch's comparison of two groups' means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `mean(a) - mean(b)`.
    pub difference: f64,
    /// The 95% confidence interval's lower end.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
    /// The two-sided p-value of "the means are equal".
    pub p: f64,
    /// The smallest true difference this comparison detects with power
    /// 0.8 in a two-sided test at level 0.05, given the two groups' sizes
    /// and spreads: `(t_0.975 + t_0.8) se` on Welch's degrees of freedom.
    pub detectable: f64,
}

/// Welch's t-test of `mean(a) - mean(b)`, with its 95% confidence
/// interval and the difference it can detect; `None` with fewer than two values on either side or no
/// spread at all.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    let (Some((ma, Some(sa))), Some((mb, Some(sb)))) = (mean_std(a), mean_std(b)) else {
        return None;
    };
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sa * sa / na, sb * sb / nb);
    let se = (va + vb).sqrt();
    if se == 0.0 {
        return None;
    }
    // Welch-Satterthwaite degrees of freedom.
    let df = (va + vb).powi(2) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let t = dist.inverse_cdf(0.975);
    let d = ma - mb;
    Some(Welch {
        difference: d,
        low: d - t * se,
        high: d + t * se,
        p: 2.0 * dist.cdf(-(d / se).abs()),
        detectable: (t + dist.inverse_cdf(0.8)) * se,
    })
}

/// Holm's step-down adjustment of the p-values of `m` comparisons made
/// together: the i-th smallest becomes `max over j <= i of (m - j + 1)
/// p_(j)`, at most 1. Rejecting where the adjusted value is below 0.05
/// keeps the chance of any false "different" at 5% for the whole table.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)] // a handful of comparisons
        let factor = (m - rank) as f64;
        running = running.max((factor * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn welch_intervals_match_a_hand_computation() {
        // a: mean 2, s^2 = 1 (n 3); b: mean 0, s^2 = 1 (n 3): se = sqrt(2/3),
        // df = 4, t(0.975, 4) = 2.776: 2 +- 2.267.
        let w = welch(&[1.0, 2.0, 3.0], &[-1.0, 0.0, 1.0]).unwrap();
        let (d, lo, hi) = (w.difference, w.low, w.high);
        // t = 2 / sqrt(2/3) = 2.449 on 4 df: two-sided p 0.0705 (numeric
        // integral of Student's density).
        assert!((w.p - 0.070_484).abs() < 1e-5, "{}", w.p);
        assert!((d - 2.0).abs() < 1e-12);
        assert!(
            (hi - 2.0 - 2.776_445 * (2.0f64 / 3.0).sqrt()).abs() < 1e-5,
            "{hi}"
        );
        assert!((2.0 - lo - (hi - 2.0)).abs() < 1e-12);
        // Power 0.8 at two-sided 0.05 on 4 df: (t(0.975) + t(0.8)) se =
        // (2.776445 + 0.940965) sqrt(2/3) = 3.0353 (t table values).
        assert!(
            (w.detectable - (2.776_445 + 0.940_965) * (2.0f64 / 3.0).sqrt()).abs() < 1e-5,
            "{}",
            w.detectable
        );
        assert!(welch(&[1.0], &[1.0, 2.0]).is_none());
        // Holm: sorted 0.01, 0.02, 0.04 of 3 -> 0.03, 0.04, 0.04 (the
        // running maximum keeps the order), and never above 1.
        let adjusted = holm(&[0.04, 0.01, 0.02]);
        let want = [0.04, 0.03, 0.04];
        for (a, w) in adjusted.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
