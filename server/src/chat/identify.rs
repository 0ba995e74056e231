//! Who a `hello` says the connection is. A connection signed in with an account (the
//! page's session cookie at the upgrade, or a personal access token said here) is that
//! account whatever else it says; a name it gives is its new display name. Anyone else
//! is a guest, where guests are allowed: by a guest's token, or by a name no account
//! has (as a handle or a display name).

use super::state::{Connection, Member};
use super::transport::Transport;
use crate::accounts::{names, TOKEN_PREFIX};
use crate::store::unavailable;
use palaver_protocol::{ErrorReason, FrameError, Hello, User};

impl<T: Transport> Connection<T> {
    pub(super) async fn identify(&mut self, hello: Hello) -> Result<User, FrameError> {
        if let Hello::Token(token) | Hello::Rename { token, .. } = &hello {
            if self.member.is_none() && token.starts_with(TOKEN_PREFIX) {
                self.sign_in_with(token).await?;
            }
        }
        if let Some(member) = self.member.as_deref_mut() {
            if let Hello::Name(name) | Hello::Rename { name, .. } = hello {
                if name != member.user.name {
                    self.cx.auth.store().set_display_name(&member.user.id, &name).await.map_err(unavailable)?;
                    member.user.name = name;
                }
            }
            return Ok(member.user.clone());
        }
        if !self.cx.auth.guests_allowed().await {
            let detail = "this workspace has no guests: sign in, or ask for an invite link";
            return Err(FrameError::new(ErrorReason::NotIdentified, detail));
        }
        let identity = &self.cx.identity;
        let verify = |token: &str| {
            identity.verify(token).ok_or_else(|| {
                FrameError::new(ErrorReason::BadToken, "this session token is not valid here; say hello with a name")
            })
        };
        let (user, new_name) = match hello {
            Hello::Token(token) => (verify(&token)?, None),
            Hello::Rename { token, name } => (User { name: name.clone(), ..verify(&token)? }, Some(name)),
            Hello::Name(name) => {
                let user = identity
                    .new_user(name.clone())
                    .map_err(|e| FrameError::new(ErrorReason::Unavailable, e.to_string()))?;
                (user, Some(name))
            }
            Hello::Session => {
                let detail = "this connection has no signed-in session: sign in again";
                return Err(FrameError::new(ErrorReason::BadToken, detail));
            }
        };
        if let Some(name) = new_name.filter(|n| self.user.as_ref().is_none_or(|u| &u.name != n)) {
            let key = names::key(&name.to_lowercase());
            if self.cx.auth.store().name_taken(&names::folded(&name), &key).await.map_err(unavailable)? {
                let detail = format!("{name} is a member's name: choose another, or sign in");
                return Err(FrameError::new(ErrorReason::BadName, detail));
            }
        }
        Ok(user)
    }

    /// Signs the connection in with a personal access token.
    async fn sign_in_with(&mut self, token: &str) -> Result<(), FrameError> {
        let found = self.cx.auth.token(token).await.map_err(unavailable)?;
        let Some((credential, account)) = found else {
            let detail = "this access token is not valid: it was revoked, or never made here";
            return Err(FrameError::new(ErrorReason::BadToken, detail));
        };
        self.cx.hub.signed_in(credential, &account.user.id, &self.wire);
        self.cx.hub.role_seen(&account.user.id, account.role);
        self.member = Some(Box::new(Member { credential, role: account.role, user: account.user }));
        Ok(())
    }
}
