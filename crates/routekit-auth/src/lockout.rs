//! The lockout of a second factor after wrong codes: how long each failure in a row locks
//! it. The count itself lives on the factor's row, moved by compare-and-swap.

/// Failed codes in a row after which a factor is locked.
const MAX_FAILED_CODES: i64 = 5;
/// The first lock, in seconds; each further failure doubles it, up to [`MAX_LOCK`].
const FIRST_LOCK: i64 = 30;
/// The longest lock, in seconds.
const MAX_LOCK: i64 = 15 * 60;

/// How long a factor stays locked after its `failures`-th failed code in a row: nothing
/// before [`MAX_FAILED_CODES`], then 30 s, 60 s, 120 s, … up to 15 minutes. Five guesses per
/// lock make a six-digit code (three valid at a time) a matter of years, not hours.
pub(crate) fn lock_secs(failures: i64) -> Option<i64> {
    let over = failures - MAX_FAILED_CODES;
    (over >= 0).then(|| (FIRST_LOCK << over.min(10)).min(MAX_LOCK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_start_after_five_failures_and_double_up_to_fifteen_minutes() {
        let locks: Vec<Option<i64>> = (1..=12).map(lock_secs).collect();
        assert_eq!(&locks[..4], &[None, None, None, None]);
        assert_eq!(
            &locks[4..],
            &[
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(900),
                Some(900),
                Some(900)
            ]
        );
        assert_eq!(lock_secs(1_000), Some(900));
    }
}
