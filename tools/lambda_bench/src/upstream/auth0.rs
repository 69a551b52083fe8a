//! Auth0, as the Auth0 emulator plays it: the caller's tokens, and the
//! Management API calls the functions made.

use auth0_emulator::{RecordedRequest, Route as Auth0Route, TestKey};
use jsonwebtoken::{Algorithm, Header};
use test_support::setup;

use super::Upstream;

impl Upstream {
    /// A valid caller token (one hour).
    pub fn caller_token(&self, owner: &str) -> String {
        setup::caller_token(&self.emulator, owner)
    }

    /// The same claims, signed by a key the JWKS does not publish.
    pub fn foreign_token(&self, owner: &str) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(TestKey::Foreign.kid().to_owned());
        self.emulator.sign_with(
            &header,
            &setup::caller_claims(&self.emulator, owner),
            TestKey::Foreign,
        )
    }

    /// The Management API calls the emulator has had (its requests but
    /// the token requests and JWKS fetches), in order.
    pub fn management_calls(&self) -> Vec<RecordedRequest> {
        self.emulator
            .requests()
            .into_iter()
            .filter(|r| !matches!(r.route, Auth0Route::Token | Auth0Route::Jwks))
            .collect()
    }
}
