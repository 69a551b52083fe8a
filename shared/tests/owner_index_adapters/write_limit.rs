//! An owner's writes per minute (`OWNER_WRITES_PER_MINUTE`): a window that
//! opens with a write after the last one closed, lasts a minute, and
//! counts up to the limit; a write past it is refused with the window's
//! end, and counts nothing.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    writes_are_counted_up_to_the_limit_until_the_window_closes,
    each_owner_has_a_window_of_its_own,
    a_lower_limit_applies_to_the_open_window,
);

/// Seconds since the epoch, as the service counts them.
fn now() -> u64 {
    m2m_shared::domain::now_micros() / 1_000_000
}

async fn writes_are_counted_up_to_the_limit_until_the_window_closes(fixture: impl Fixture) {
    let index = fixture.index();
    let who = owner("owner-a");
    let opened = now();
    let closes = opened + WRITE_WINDOW_SECONDS;
    let counted = WriteCount::Counted;
    let refused = WriteCount::Refused { until: closes };
    // A minute after the window opened, the next write opens another, with
    // the same room.
    let refused_next = WriteCount::Refused {
        until: closes + WRITE_WINDOW_SECONDS,
    };
    let writes = [
        (opened, counted),
        (opened + 1, counted),
        (opened + 30, counted),
        (opened + 31, refused),
        (closes - 1, refused),
        (closes, counted),
        (closes + 1, counted),
        (closes + 2, counted),
        (closes + 3, refused_next),
    ];
    for (at, expected) in writes {
        let answer = index.count_owner_write(&who, at, 3).await.unwrap();
        assert_eq!(answer, expected, "at +{}", at - opened);
    }
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
