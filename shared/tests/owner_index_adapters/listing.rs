//! List and get: the owner's clients, oldest first (ties by id), in pages
//! whose `next` says exactly whether there is more; only listed clients.

use crate::harness::*;

each_adapter!(
    crate::harness::memory, crate::harness::dynamodb =>
    list_answers_oldest_first_and_ties_by_id,
    pages_have_next_exactly_when_there_is_more,
    a_page_after_a_removed_clients_position_goes_on_from_there,
    creations_and_clients_being_deleted_are_never_listed_nor_got,
    an_owner_sees_only_its_own_clients,
);

/// A client of `owner` with this id, created at `created_at` (µs).
async fn created_at<I: OwnerIndex>(
    index: &I,
    owner: &Owner,
    id: &str,
    created_at: u64,
) -> IndexedClient {
    let begun = Creation {
        chosen_id: id.to_owned(),
        started_at: created_at,
        ..creation(owner, id)
    };
    finish(index, &begun).await
}

/// Every page of `limit` clients, following `next`.
async fn pages<I: OwnerIndex>(index: &I, owner: &Owner, limit: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = index
            .list(owner, after.as_ref(), Some(limit))
            .await
            .unwrap();
        assert!(page.clients.len() <= limit);
        pages.push(ids(&page.clients));
        match page.next {
            Some(next) => {
                assert_eq!(
                    Some(&next),
                    page.clients.last().map(IndexedClient::position).as_ref(),
                    "a page goes on after its last client"
                );
                after = Some(next);
            }
            None => return pages,
        }
        assert!(pages.len() < 100, "pages without end");
    }
}

async fn list_answers_oldest_first_and_ties_by_id<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    // Created out of order; two at the same microsecond.
    created_at(index, &a, "client_b", 2_000).await;
    created_at(index, &a, "client_c", 3_000).await;
    created_at(index, &a, "client_a", 2_000).await;
    created_at(index, &a, "client_z", 1_000).await;
    let order = ["client_z", "client_a", "client_b", "client_c"];
    assert_eq!(listed(index, &a).await, order);
    // One at a time, across the tie: each once, in the same order.
    assert_eq!(
        pages(index, &a, 1).await,
        order
            .iter()
            .map(|id| vec![id.to_string()])
            .collect::<Vec<_>>()
    );
}

async fn pages_have_next_exactly_when_there_is_more<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    assert_eq!(
        index.list(&a, None, Some(10)).await.unwrap(),
        Page {
            clients: vec![],
            next: None
        }
    );
    let mut all = Vec::new();
    for n in 0..5 {
        all.push(create(index, &a, &format!("c{n}")).await.client_id);
    }
    assert_eq!(
        pages(index, &a, 2).await,
        vec![all[0..2].to_vec(), all[2..4].to_vec(), all[4..5].to_vec()]
    );
    // Exactly a page's worth, or less: no next.
    for limit in [5, 6, 100] {
        let page = index.list(&a, None, Some(limit)).await.unwrap();
        assert_eq!((ids(&page.clients), page.next), (all.clone(), None));
    }
    // One short of all of them: a next, and a last page of one.
    let page = index.list(&a, None, Some(4)).await.unwrap();
    assert_eq!(ids(&page.clients), all[0..4]);
    let last = index.list(&a, page.next.as_ref(), Some(4)).await.unwrap();
    assert_eq!((ids(&last.clients), last.next), (all[4..5].to_vec(), None));
    // After the last client: nothing, and no next.
    let past = index
        .list(&a, Some(&last.clients[0].position()), None)
        .await
        .unwrap();
    assert_eq!(
        past,
        Page {
            clients: vec![],
            next: None
        }
    );
    // Without a limit: all, and never a next.
    let page = index.list(&a, None, None).await.unwrap();
    assert_eq!((ids(&page.clients), page.next), (all, None));
}

async fn a_page_after_a_removed_clients_position_goes_on_from_there<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let mut all = Vec::new();
    for n in 0..4 {
        all.push(create(index, &a, &format!("c{n}")).await);
    }
    let first = index.list(&a, None, Some(2)).await.unwrap();
    index.remove(&all[1]).await.unwrap();
    let rest = index.list(&a, first.next.as_ref(), Some(2)).await.unwrap();
    assert_eq!((ids(&rest.clients), rest.next), (ids(&all[2..4]), None));
}

async fn creations_and_clients_being_deleted_are_never_listed_nor_got<F: Fixture>(fx: F) {
    let index = fx.index();
    let a = owner("owner-a");
    let deleted = create(index, &a, "being deleted").await;
    let shown = create(index, &a, "shown").await;
    let under_way = creation(&a, "under way");
    begin(index, &under_way).await;
    mark_deleting(index, &deleted).await;
    assert_eq!(listed(index, &a).await, vec![shown.client_id.clone()]);
    // A page of one: it is all there is, so no next.
    let page = index.list(&a, None, Some(1)).await.unwrap();
    assert_eq!(
        (ids(&page.clients), page.next),
        (vec![shown.client_id], None)
    );
    for hidden in [&deleted.client_id, &under_way.chosen_id] {
        assert_eq!(index.get(&a, hidden).await.unwrap(), None, "{hidden}");
    }
}

async fn an_owner_sees_only_its_own_clients<F: Fixture>(fx: F) {
    let index = fx.index();
    let (a, b) = (owner("owner-a"), owner("owner-b"));
    let mine = create(index, &a, "mine").await;
    let theirs = create(index, &b, "theirs").await;
    assert_eq!(listed(index, &a).await, vec![mine.client_id.clone()]);
    assert_eq!(listed(index, &b).await, vec![theirs.client_id.clone()]);
    assert_eq!(index.get(&a, &theirs.client_id).await.unwrap(), None);
    assert_eq!(index.get(&a, &mine.client_id).await.unwrap(), Some(mine));
    assert_eq!(listed(index, &owner("owner-c")).await, Vec::<String>::new());
}
