//! What a [`TestIdp`](super::TestIdp) knows: tenants, app registrations and users.

use sha2::{Digest, Sha256};

/// Tenant id of the default tenant.
pub const DEFAULT_TENANT_ID: &str = "c0ffee00-0000-4000-8000-00000000c0de";
/// Verified domain of the default tenant.
pub const DEFAULT_TENANT_DOMAIN: &str = "contoso.test";
/// Client (application) id of the default app registration.
pub const DEFAULT_CLIENT_ID: &str = "11111111-2222-4333-8444-555555555555";
/// Client secret of the default app registration. Test-only: never use it anywhere real.
///
/// It holds `~`, as the secrets Entra generates do: a client that form-encodes it into a
/// `client_secret_basic` header sends `%7E`, which Entra compares as it is (see
/// [`TestIdp::decode_basic_credentials`](super::TestIdp::decode_basic_credentials)).
pub const DEFAULT_CLIENT_SECRET: &str = "test~only-client~secret";

/// Which access-token format an API asks for (the manifest's `requestedAccessTokenVersion`,
/// formerly `accessTokenAcceptedVersion`). As at Entra, an API that does not ask gets v1.
///
/// Version 2 tokens carry `aud` = the client id, `azp`/`azpacr`, `preferred_username` and
/// the `…/v2.0` issuer; version 1 tokens carry `aud` = the resource as the client named it
/// (the App ID URI, or the client id), `appid`/`appidacr`, `upn` and `unique_name`, and
/// the v1 issuer, which lives on another host ([`TestIdp::v1_issuer_for`](super::TestIdp::v1_issuer_for)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenVersion {
    /// `ver: "1.0"`, issuer `http://{the other loopback host}:{port}/{tid}/` (the shape of
    /// `https://sts.windows.net/{tid}/`). Entra's default.
    #[default]
    V1,
    /// `ver: "2.0"`, issuer `{base}/{tid}/v2.0`.
    V2,
}

/// A directory (tenant) at the test identity provider.
///
/// ```
/// use msal_runtime::testing::TestTenant;
/// let fabrikam = TestTenant::new("0ddba11a-0000-4000-8000-000000000001", "fabrikam.test");
/// assert_eq!(fabrikam.domain, "fabrikam.test");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestTenant {
    /// The tenant id (a GUID), as it appears in `tid` and in issuers.
    pub id: String,
    /// A domain name that can stand for the tenant in URLs (`/{domain}/v2.0/...`).
    pub domain: String,
}

impl TestTenant {
    /// A tenant with this id and domain.
    pub fn new(id: impl Into<String>, domain: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            domain: domain.into(),
        }
    }
}

/// An app registration: a client that signs users in, and the API it may expose.
///
/// A new registration is as Entra makes one: v1 access tokens for its API, no `groups`
/// claim, no optional claims, no admin consent.
///
/// ```
/// use msal_runtime::testing::{TestClient, TokenVersion};
/// let api = TestClient::new("22222222-0000-4000-8000-000000000002")
///     .secret("s3cret")
///     .redirect_uri("http://127.0.0.1/auth/callback")
///     .scope("Tasks.Read")
///     .app_role("Admin")
///     .access_token_version(TokenVersion::V2)
///     .admin_consent("User.Read");
/// assert_eq!(api.app_id_uri, "api://22222222-0000-4000-8000-000000000002");
/// assert_eq!(api.access_token_version, TokenVersion::V2);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestClient {
    /// The application (client) id.
    pub client_id: String,
    /// Shown on the sign-in page.
    pub display_name: String,
    /// The client secret; `None` makes it a public client (no client authentication).
    pub secret: Option<String>,
    /// Registered redirect URIs. As at Entra, the port of an `http` loopback URI is ignored
    /// when matching; everything else must match exactly.
    pub redirect_uris: Vec<String>,
    /// Registered post-logout redirect URIs (same matching rule).
    pub post_logout_redirect_uris: Vec<String>,
    /// Front-channel logout URL, loaded in an iframe with `iss` and `sid` on sign-out.
    pub front_channel_logout_uri: Option<String>,
    /// The App ID URI scopes of this API are prefixed with; default `api://{client_id}`.
    pub app_id_uri: String,
    /// Delegated scopes this app exposes as an API (`scp` in its access tokens).
    pub scopes: Vec<String>,
    /// App roles this app defines; users hold them through [`TestUser::roles`].
    pub app_roles: Vec<String>,
    /// Application permissions granted to this client, as `resource/role`
    /// (`api://…/Tasks.ReadWrite.All`, `https://graph.microsoft.com/User.Read.All`; a bare role
    /// means Microsoft Graph). They become `roles` in client-credentials tokens.
    pub app_permissions: Vec<String>,
    /// The access-token version this app's API accepts (default [`TokenVersion::V1`]).
    pub access_token_version: TokenVersion,
    /// Entra's `groupMembershipClaims`: whether this app's ID tokens and its API's access
    /// tokens carry `groups` (and `wids` for users with directory roles). Default off.
    pub group_membership_claims: bool,
    /// The optional claim `idtyp` (`user` or `app`) on this API's access tokens. Default off,
    /// as at Entra: an API must tell app-only tokens apart without it.
    pub optional_claim_idtyp: bool,
    /// Delegated permissions an administrator consented to for every user of this client,
    /// as written in a scope request (`User.Read` = Microsoft Graph, `api://…/Tasks.Read`,
    /// `{client id}/.default`).
    pub admin_consents: Vec<String>,
    /// Object id of the app's service principal (`oid`/`sub` of its app-only tokens).
    pub service_principal_id: String,
    /// Registered certificates for `private_key_jwt`: (SHA-256 thumbprint base64url, public
    /// key PEM).
    pub certificates: Vec<(String, String)>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("client_id", &self.client_id)
            .field("display_name", &self.display_name)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("redirect_uris", &self.redirect_uris)
            .field("app_id_uri", &self.app_id_uri)
            .field("scopes", &self.scopes)
            .field("app_roles", &self.app_roles)
            .field("app_permissions", &self.app_permissions)
            .field("access_token_version", &self.access_token_version)
            .field("group_membership_claims", &self.group_membership_claims)
            .field("optional_claim_idtyp", &self.optional_claim_idtyp)
            .field("admin_consents", &self.admin_consents)
            .finish_non_exhaustive()
    }
}

impl TestClient {
    /// A public client with this id, no redirect URIs, scopes or roles yet.
    pub fn new(client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        Self {
            display_name: format!("Test app {client_id}"),
            app_id_uri: format!("api://{client_id}"),
            service_principal_id: stable_guid("service-principal", &client_id),
            client_id,
            secret: None,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            front_channel_logout_uri: None,
            scopes: Vec::new(),
            app_roles: Vec::new(),
            app_permissions: Vec::new(),
            access_token_version: TokenVersion::V1,
            group_membership_claims: false,
            optional_claim_idtyp: false,
            admin_consents: Vec::new(),
            certificates: Vec::new(),
        }
    }

    /// The default registration: a confidential web app that exposes `Tasks.Read`,
    /// `Tasks.Write` and `access_as_user`, defines the roles `Admin` and
    /// `Tasks.ReadWrite.All`, is granted `Tasks.ReadWrite.All` on itself (for daemon tests)
    /// and accepts any loopback port on `/auth/callback` and `/`.
    ///
    /// Unlike a bare [`TestClient::new`], it is set up the way an app registered for
    /// msal-axum usually is: its manifest asks for v2 access tokens, it emits `groups`
    /// ([`group_membership_claims`](Self::group_membership_claims)), and an administrator
    /// consented for every user to Microsoft Graph's `User.Read` (sign-in, `/me`, group
    /// look-ups) and to everything its own API exposes (`{client id}/.default`). Any other
    /// scope needs the user's consent at `/authorize` first.
    pub fn default_app() -> Self {
        let id = DEFAULT_CLIENT_ID;
        Self::new(id)
            .display_name("msal-axum test app")
            .secret(DEFAULT_CLIENT_SECRET)
            .redirect_uri("http://127.0.0.1/auth/callback")
            .redirect_uri("http://localhost/auth/callback")
            .post_logout_redirect_uri("http://127.0.0.1/")
            .post_logout_redirect_uri("http://localhost/")
            .scope("Tasks.Read")
            .scope("Tasks.Write")
            .scope("access_as_user")
            .app_role("Admin")
            .app_role("Tasks.ReadWrite.All")
            .app_permission(format!("api://{id}/Tasks.ReadWrite.All"))
            .access_token_version(TokenVersion::V2)
            .group_membership_claims(true)
            .admin_consent("User.Read")
            .admin_consent(format!("{id}/.default"))
    }

    /// Sets the name shown on the sign-in page.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
    /// Makes this a confidential client with this secret.
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }
    /// Registers a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }
    /// Registers a post-logout redirect URI.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uris.push(uri.into());
        self
    }
    /// Sets the front-channel logout URL.
    pub fn front_channel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.front_channel_logout_uri = Some(uri.into());
        self
    }
    /// Sets the App ID URI (default `api://{client_id}`).
    pub fn app_id_uri(mut self, uri: impl Into<String>) -> Self {
        self.app_id_uri = uri.into();
        self
    }
    /// Exposes a delegated scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }
    /// Defines an app role.
    pub fn app_role(mut self, role: impl Into<String>) -> Self {
        self.app_roles.push(role.into());
        self
    }
    /// Grants an application permission (`resource/role`, bare role = Microsoft Graph).
    pub fn app_permission(mut self, permission: impl Into<String>) -> Self {
        self.app_permissions.push(permission.into());
        self
    }
    /// Registers a certificate credential: its SHA-256 thumbprint (base64url, as in
    /// `x5t#S256`) and its public key (SPKI PEM).
    pub fn certificate(
        mut self,
        thumbprint: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Self {
        self.certificates
            .push((thumbprint.into(), public_key_pem.into()));
        self
    }
    /// Chooses the access-token version of this app's API.
    pub fn access_token_version(mut self, version: TokenVersion) -> Self {
        self.access_token_version = version;
        self
    }
    /// Emit `groups` (and `wids` for users with directory roles) only when set, as Entra's
    /// `groupMembershipClaims` does: in this app's ID tokens and its API's access tokens.
    ///
    /// ```
    /// use msal_runtime::testing::TestClient;
    /// let app = TestClient::new("c").group_membership_claims(true);
    /// assert!(app.group_membership_claims);
    /// ```
    pub fn group_membership_claims(mut self, on: bool) -> Self {
        self.group_membership_claims = on;
        self
    }
    /// Emit the optional claim `idtyp` (`user` or `app`) in this API's access tokens.
    ///
    /// ```
    /// use msal_runtime::testing::TestClient;
    /// let api = TestClient::new("c").optional_claim_idtyp(true);
    /// assert!(api.optional_claim_idtyp);
    /// ```
    pub fn optional_claim_idtyp(mut self, on: bool) -> Self {
        self.optional_claim_idtyp = on;
        self
    }
    /// Tenant-wide admin consent for a scope (as written in a request) for every user.
    /// The builder refuses a scope that names no known resource or scope.
    ///
    /// ```
    /// use msal_runtime::testing::TestClient;
    /// let app = TestClient::new("c")
    ///     .admin_consent("User.Read") // Microsoft Graph
    ///     .admin_consent("api://orders/Orders.Read");
    /// assert_eq!(app.admin_consents.len(), 2);
    /// ```
    pub fn admin_consent(mut self, scope: impl Into<String>) -> Self {
        self.admin_consents.push(scope.into());
        self
    }
}

/// A user who can sign in at the test identity provider.
///
/// ```
/// use msal_runtime::testing::TestUser;
/// let carol = TestUser::new("carol@contoso.test", "Carol Tester").role("Admin");
/// assert_eq!(carol.email, "carol@contoso.test");
/// assert_eq!(carol.oid.len(), 36);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestUser {
    /// Object id (`oid`); stable for a given `preferred_username` unless set.
    pub oid: String,
    /// The home tenant's id; the first registered tenant unless set.
    pub tenant_id: Option<String>,
    /// Display name (`name`).
    pub name: String,
    /// Sign-in name (`preferred_username`); `login_hint` matches it.
    pub preferred_username: String,
    /// `email` claim.
    pub email: String,
    /// App roles assigned to the user. As at Entra, a token carries (in `roles`) those that
    /// its app defines in [`TestClient::app_roles`].
    pub roles: Vec<String>,
    /// Group object ids (`groups`).
    pub groups: Vec<String>,
    /// Directory role template ids (`wids`), e.g. `62e90394-69f5-4237-9190-012177145e10`
    /// for Global Administrator.
    pub directory_roles: Vec<String>,
}

impl TestUser {
    /// A user in the first tenant, with a stable oid derived from the username.
    pub fn new(preferred_username: impl Into<String>, name: impl Into<String>) -> Self {
        let preferred_username = preferred_username.into();
        Self {
            oid: stable_guid("user", &preferred_username),
            tenant_id: None,
            name: name.into(),
            email: preferred_username.clone(),
            preferred_username,
            roles: Vec::new(),
            groups: Vec::new(),
            directory_roles: Vec::new(),
        }
    }

    /// Alice: `alice@contoso.test`, "Alice Example", no roles, no groups.
    pub fn alice() -> Self {
        Self::new("alice@contoso.test", "Alice Example").oid("00000000-0000-4000-8000-0000000a11ce")
    }

    /// Bob: `bob@contoso.test`, "Bob Admin", app role `Admin`, one group.
    pub fn bob() -> Self {
        Self::new("bob@contoso.test", "Bob Admin")
            .oid("00000000-0000-4000-8000-000000000b0b")
            .role("Admin")
            .group(BOB_GROUP_ID)
    }

    /// Sets the object id.
    pub fn oid(mut self, oid: impl Into<String>) -> Self {
        self.oid = oid.into();
        self
    }
    /// Puts the user in this tenant.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }
    /// Sets the `email` claim.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = email.into();
        self
    }
    /// Assigns an app role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }
    /// Adds a group membership.
    pub fn group(mut self, group_id: impl Into<String>) -> Self {
        self.groups.push(group_id.into());
        self
    }
    /// Assigns a directory role, by its template id (`wids`, emitted with `groups`).
    ///
    /// ```
    /// use msal_runtime::testing::TestUser;
    /// let admin = TestUser::new("root@contoso.test", "Root")
    ///     .directory_role("62e90394-69f5-4237-9190-012177145e10");
    /// assert_eq!(admin.directory_roles.len(), 1);
    /// ```
    pub fn directory_role(mut self, role_template_id: impl Into<String>) -> Self {
        self.directory_roles.push(role_template_id.into());
        self
    }
}

/// The object id of the group Bob belongs to.
pub const BOB_GROUP_ID: &str = "00000000-0000-4000-8000-0000000000ad";

/// A GUID-shaped id derived from a name, so default ids are the same on every run.
pub(crate) fn stable_guid(kind: &str, name: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind)
        .chain_update([0])
        .chain_update(name)
        .finalize();
    format_guid(&digest[..16])
}

/// A fresh random GUID.
pub(crate) fn random_guid() -> String {
    format_guid(&rand::random::<[u8; 16]>())
}

fn format_guid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
