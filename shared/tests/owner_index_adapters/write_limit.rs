//! An owner's writes per minute (`OWNER_WRITES_PER_MINUTE`): a window that
//! opens with a write after the last one closed, lasts a minute, and
//! counts up to the limit; a write past it is refused with the window's
//! end, and counts nothing.

use m2m_shared::domain::{Owner, OwnerIndex, WRITE_WINDOW_SECONDS, WriteCount};

use crate::harness::{Fixture, owner};

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    writes_are_counted_up_to_the_limit_until_the_window_closes,
    each_owner_has_a_window_of_its_own,
    a_lower_limit_applies_to_the_open_window,
);

/// Counts a write of `who` at each of `times` (with `limit`): each must
/// be answered `expected`. `opened` names the times in messages.
async fn count_each<I: OwnerIndex>(
    index: &I,
    who: &Owner,
    times: &[u64],
    limit: u32,
    expected: WriteCount,
    opened: u64,
) {
    for &at in times {
        assert_eq!(
            index.count_owner_write(who, at, limit).await.unwrap(),
            expected,
            "at +{}",
            at - opened
        );
    }
}

/// Seconds since the epoch, as the service counts them.
fn now() -> u64 {
    m2m_shared::domain::now_micros() / 1_000_000
}

async fn writes_are_counted_up_to_the_limit_until_the_window_closes(fixture: impl Fixture) {
    let index = fixture.index();
    let who = owner("owner-a");
    let opened = now();
    let counted = WriteCount::Counted;
    count_each(
        index,
        &who,
        &[opened, opened + 1, opened + 30],
        3,
        counted,
        opened,
    )
    .await;
    let closes = opened + WRITE_WINDOW_SECONDS;
    let refused = WriteCount::Refused { until: closes };
    count_each(index, &who, &[opened + 31, closes - 1], 3, refused, opened).await;
    // A minute after the window opened, the next write opens another,
    // with the same room.
    count_each(
        index,
        &who,
        &[closes, closes + 1, closes + 2],
        3,
        counted,
        opened,
    )
    .await;
    assert_eq!(
        index.count_owner_write(&who, closes + 3, 3).await.unwrap(),
        WriteCount::Refused {
            until: closes + WRITE_WINDOW_SECONDS
        }
    );
}

async fn each_owner_has_a_window_of_its_own(fixture: impl Fixture) {
    let index = fixture.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let at = now();
    assert_eq!(
        index.count_owner_write(&a, at, 1).await.unwrap(),
        WriteCount::Counted
    );
    assert!(matches!(
        index.count_owner_write(&a, at, 1).await.unwrap(),
        WriteCount::Refused { .. }
    ));
    // Opened later: its own minute.
    assert_eq!(
        index.count_owner_write(&b, at + 5, 1).await.unwrap(),
        WriteCount::Counted
    );
    assert_eq!(
        index.count_owner_write(&b, at + 6, 1).await.unwrap(),
        WriteCount::Refused {
            until: at + 5 + WRITE_WINDOW_SECONDS
        }
    );
}

async fn a_lower_limit_applies_to_the_open_window(fixture: impl Fixture) {
    let index = fixture.index();
    let who = owner("owner-a");
    let at = now();
    for _ in 0..5 {
        assert_eq!(
            index.count_owner_write(&who, at, 10).await.unwrap(),
            WriteCount::Counted
        );
    }
    // A deployment that lowered OWNER_WRITES_PER_MINUTE meanwhile: what
    // the window counts already is past it.
    assert!(matches!(
        index.count_owner_write(&who, at + 1, 3).await.unwrap(),
        WriteCount::Refused { .. }
    ));
    assert_eq!(
        index.count_owner_write(&who, at + 1, 6).await.unwrap(),
        WriteCount::Counted
    );
    assert!(matches!(
        index.count_owner_write(&who, at + 1, 6).await.unwrap(),
        WriteCount::Refused { .. }
    ));
}
