//! Figures from timed samples, and how they are printed.

use std::time::Duration;

/// The value below which `q` of the samples lie (nearest rank).
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The median: the middle sample, or the mean of the middle two.
pub fn median(samples: &[Duration]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2
    } else {
        sorted[middle]
    }
}

/// Milliseconds with two decimals.
pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// Whole microseconds.
pub fn us(duration: Duration) -> String {
    format!("{:.0}", duration.as_secs_f64() * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_and_median() {
        let samples: Vec<Duration> = [5, 1, 4, 2, 3].map(Duration::from_millis).to_vec();
        assert_eq!(percentile(&samples, 0.5), Duration::from_millis(3));
        assert_eq!(percentile(&samples, 0.9), Duration::from_millis(5));
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
        assert_eq!(median(&samples), Duration::from_millis(3));
        assert_eq!(median(&samples[..4]), Duration::from_micros(3000));
        assert_eq!(median(&[]), Duration::ZERO);
        assert_eq!(ms(Duration::from_micros(1234)), "1.23");
        assert_eq!(us(Duration::from_micros(1234)), "1234");
    }
}
