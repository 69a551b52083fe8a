//! The `OwnerIndex` port's calls, written once for the test doubles that
//! wrap an index (the contract tests' `StoppingIndex`, the fault
//! schedules' `OpIndex` and `Table`): `owner_index_calls!(wrap)` hands them
//! to the macro `wrap`, which writes the impl. The sweep lease's call comes
//! last, after `@lease`, for a double that needs its argument. A call added
//! to the port is one line here.

macro_rules! owner_index_calls {
    ($wrap:ident $(, $($with:tt)*)?) => {
        $wrap! {
            $([$($with)*])?
            idempotency(owner: &Owner, key: &str) -> Option<IdempotencyRecord>;
            begin_creation(creation: &Creation, max: u32) -> Begun;
            record_client_id(creation: &Creation) -> ();
            finish_creation(creation: &Creation, client: &IndexedClient) -> ();
            abandon_creation(creation: &Creation) -> ();
            list(owner: &Owner, after: Option<&Position>, limit: Option<usize>) -> Page;
            get(owner: &Owner, client_id: &str) -> Option<IndexedClient>;
            begin_deletion(owner: &Owner, client_id: &str) -> Option<IndexedClient>;
            cancel_deletion(client: &IndexedClient) -> ();
            remove(client: &IndexedClient) -> ();
            begin_change(client: &IndexedClient, change: &PendingChange, stale_before: u64) -> ChangeBegun;
            end_change(client: &IndexedClient, change_id: &str) -> bool;
            count_owner_write(owner: &Owner, now: u64, limit: u32) -> WriteCount;
            cursor_key(create: bool) -> Option<SecretString>;
            stale_operations(before: u64) -> Vec<StaleOperation>;
            mark_swept(owner: &Owner, client_id: &str, generation: u64) -> bool;
            import(client: &IndexedClient, creation_id: Option<&str>, generation: u64) -> ();
            unswept(generation: u64, created_before: u64) -> Vec<IndexedClient>;
            sweep_state() -> SweepState;
            save_sweep_state(state: &SweepState, lease: &SweepLease) -> bool;
            begin_sweep_removal(client: &IndexedClient, generation: u64, lease: &SweepLease) -> SweepRemoval;
            owner_of(client_id: &str) -> Option<Owner>;
            record_use(owner: &Owner, client_id: &str, at: u64) -> bool;
            census() -> TableCensus;
            @lease take_sweep_lease(lease: &SweepLease) -> Option<SweepState>;
        }
    };
}

/// `impl OwnerIndex for $double`, a double whose `inner` is the index it
/// wraps: every call is `self.$through(its name, the inner call)`, and a
/// sweep lease taken is first handed to `self.$lease_taken(lease)` where
/// the double keeps it.
macro_rules! owner_index_through {
    ($double:ident, $through:ident $(, $lease_taken:ident)?) => {
        owner_index_calls!(through_each_call, $double, $through $(, $lease_taken)?);
    };
}

/// [`owner_index_through`]'s impl, from the calls.
macro_rules! through_each_call {
    ([$double:ident, $through:ident $(, $lease_taken:ident)?]
     $($call:ident($($arg:ident: $type:ty),*) -> $answer:ty;)*
     @lease $lease:ident($lease_arg:ident: $lease_type:ty) -> $lease_answer:ty;) => {
        impl OwnerIndex for $double {
            $(
                async fn $call(&self, $($arg: $type),*) -> Result<$answer, IndexError> {
                    self.$through(stringify!($call), self.inner.$call($($arg),*)).await
                }
            )*
            async fn $lease(&self, $lease_arg: $lease_type) -> Result<$lease_answer, IndexError> {
                $(self.$lease_taken($lease_arg);)?
                self.$through(stringify!($lease), self.inner.$lease($lease_arg)).await
            }
        }
    };
}
