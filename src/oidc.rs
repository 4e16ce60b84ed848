//! Sign-in with the organisation's identity provider: OpenID Connect's authorization code
//! flow with PKCE, the service as a confidential client. The `openidconnect` crate does the
//! protocol (discovery, the authorization request, the code exchange, the ID token's
//! signature from the provider's JWKS, issuer, audience, nonce and expiry); this module
//! keeps the provider's metadata, refetches its keys when it has rotated them, and turns the
//! verified claims into a role and a län by the configured mapping.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdToken, IdTokenClaims, IdTokenFields, IssuerUrl, JsonWebKeySet, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    TokenResponse as _, reqwest,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::auth::Role;
use crate::config::OidcConfig;
use crate::domain::codes::RegionCode;

/// Every claim of the ID token, for the configured role and län claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type Token = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The least time between two fetches of the provider's keys for a token signed with a key
/// it does not know: a provider's rotation is found at once, while tokens with made-up key
/// ids cannot make the service ask the provider at their pace.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How long the provider may take to answer one request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a sign-in was refused: `reason` is the metrics label and log field, `message` the
/// Swedish text the person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
    /// The account whose verified claims the service refused (no role it knows, a region
    /// role without a valid län), where the refusal is of the claims and not of the token.
    pub account: Option<Account>,
}

impl Refusal {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            message: message.into(),
            account: None,
        }
    }
}

/// An account at the provider: its issuer and `sub`, the one claim it never gives another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub issuer: String,
    pub subject: String,
}

/// A sign-in begun: where the browser goes, and what the callback needs to finish it.
pub struct Begun {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// Who signed in, as the verified ID token and the role mapping say.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    /// The person's name for people to read: `preferred_username`, else `email`, else `sub`.
    pub person: String,
    pub role: Role,
    pub region: Option<RegionCode>,
    /// The raw ID token, the hint of the provider's sign-out.
    pub id_token: String,
}

struct Provider {
    metadata: ProviderMetadataWithLogout,
    keys_fetched: Instant,
}

/// The identity provider as this service uses it.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    /// Discovered on first use, so that the service starts while the provider is away.
    provider: RwLock<Option<Provider>>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Result<Oidc, String> {
        let http = reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer send the service elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| format!("the HTTP client for the provider: {e}"))?;
        Ok(Oidc {
            config,
            http,
            provider: RwLock::new(None),
        })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn metadata(&self) -> Result<ProviderMetadataWithLogout, Refusal> {
        if let Some(provider) = self.provider.read().await.as_ref() {
            return Ok(provider.metadata.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| unreachable_provider(format!("OIDC_ISSUER: {e}")))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| unreachable_provider(format!("discovery: {e}")))?;
        *self.provider.write().await = Some(Provider {
            metadata: metadata.clone(),
            keys_fetched: Instant::now(),
        });
        Ok(metadata)
    }

    fn client(&self, metadata: ProviderMetadataWithLogout) -> Result<Client, Refusal> {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| unreachable_provider(format!("OIDC_REDIRECT_URL: {e}")))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's authorization URL with a fresh `state`, `nonce` and S256 challenge.
    pub async fn begin(&self) -> Result<Begun, Refusal> {
        let client = self.client(self.metadata().await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Begun {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the code (with the PKCE verifier and the client's secret) and verifies the
    /// ID token it brings.
    pub async fn finish(
        &self,
        code: String,
        nonce: &str,
        verifier: String,
    ) -> Result<Identity, Refusal> {
        let client = self.client(self.metadata().await?)?;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| unreachable_provider(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                Refusal::new(
                    "code_refused",
                    format!("Identitetsleverantören godtog inte inloggningskoden ({e})."),
                )
            })?;
        let token = tokens.id_token().ok_or_else(|| {
            Refusal::new(
                "no_id_token",
                "Identitetsleverantören skickade ingen ID-token.",
            )
        })?;
        self.identity(token, nonce).await
    }

    /// Verifies an ID token as the callback does: for tests of tokens that a real provider
    /// gave another client, or signed with other keys.
    pub async fn verify(&self, id_token: &str, nonce: &str) -> Result<Identity, Refusal> {
        let token: Token = id_token
            .parse()
            .map_err(|_| Refusal::new("malformed_id_token", "ID-token är inte en JWT."))?;
        self.identity(&token, nonce).await
    }

    async fn identity(&self, token: &Token, nonce: &str) -> Result<Identity, Refusal> {
        let nonce = Nonce::new(nonce.to_string());
        let claims = match self.claims(token, &nonce).await {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refetch_keys().await? => self.claims(token, &nonce).await,
            verified => verified,
        }
        .map_err(refused_token)?;
        let subject = claims.subject().as_str().to_string();
        let (role, region) =
            self.role_of(&claims.additional_claims().claims)
                .map_err(|refusal| Refusal {
                    account: Some(Account {
                        issuer: claims.issuer().as_str().to_string(),
                        subject: subject.clone(),
                    }),
                    ..refusal
                })?;
        let person = claims
            .preferred_username()
            .map(|name| name.as_str().to_string())
            .or_else(|| claims.email().map(|email| email.as_str().to_string()))
            .unwrap_or_else(|| subject.clone());
        Ok(Identity {
            issuer: claims.issuer().as_str().to_string(),
            subject,
            person,
            role,
            region,
            id_token: token.to_string(),
        })
    }

    async fn claims(
        &self,
        token: &Token,
        nonce: &Nonce,
    ) -> Result<IdTokenClaims<OtherClaims, CoreGenderClaim>, ClaimsVerificationError> {
        let metadata = self
            .metadata()
            .await
            .map_err(|refusal| ClaimsVerificationError::Other(refusal.message))?;
        let client = self
            .client(metadata)
            .map_err(|refusal| ClaimsVerificationError::Other(refusal.message))?;
        // The instance's clock, so that a test can show an expired token refused.
        let verifier = client
            .id_token_verifier()
            .set_time_fn(|| crate::domain::now().and_utc());
        token.claims(&verifier, nonce).cloned()
    }

    /// Fetches the provider's keys again, unless they were fetched less than
    /// `JWKS_REFETCH_INTERVAL` ago; whether they were.
    async fn refetch_keys(&self) -> Result<bool, Refusal> {
        let mut provider = self.provider.write().await;
        let Some(provider) = provider.as_mut() else {
            return Ok(false);
        };
        if provider.keys_fetched.elapsed() < JWKS_REFETCH_INTERVAL {
            return Ok(false);
        }
        let keys = JsonWebKeySet::fetch_async(provider.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| unreachable_provider(format!("keys: {e}")))?;
        provider.metadata = provider.metadata.clone().set_jwks(keys);
        provider.keys_fetched = Instant::now();
        tracing::info!("the identity provider's keys were fetched again");
        Ok(true)
    }

    /// The role and län the claims give by the configured mapping.
    fn role_of(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(Role, Option<RegionCode>), Refusal> {
        let names = match claims.get(&self.config.roles_claim) {
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            Some(serde_json::Value::Array(many)) => many
                .iter()
                .filter_map(|name| name.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let lan = claims
            .get(&self.config.lan_claim)
            .and_then(|value| value.as_str());
        role_from(&names, lan, &self.config.role_map)
    }

    /// The provider's sign-out address for the session that `id_token` began, where the
    /// provider offers one (RP-initiated logout), returning to the dashboard.
    pub async fn logout_url(&self, id_token: &str) -> Option<String> {
        let metadata = self.metadata().await.ok()?;
        let end_session = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let token: Token = id_token.parse().ok()?;
        let mut request = LogoutRequest::from(end_session)
            .set_id_token_hint(&token)
            .set_client_id(ClientId::new(self.config.client_id.clone()));
        if let Ok(back) = PostLogoutRedirectUrl::new(dashboard_url(&self.config.redirect_url)) {
            request = request.set_post_logout_redirect_uri(back);
        }
        Some(request.http_get_url().to_string())
    }
}

/// The dashboard's address beside the callback's (`https://host/auth/callback` →
/// `https://host/dashboard/`).
pub fn dashboard_url(redirect_url: &str) -> String {
    let origin = redirect_url
        .find("://")
        .and_then(|scheme| {
            redirect_url[scheme + 3..]
                .find('/')
                .map(|path| &redirect_url[..scheme + 3 + path])
        })
        .unwrap_or(redirect_url);
    format!("{origin}/dashboard/")
}

fn unreachable_provider(cause: String) -> Refusal {
    tracing::warn!(%cause, "the identity provider could not be used");
    Refusal::new(
        "provider_unavailable",
        "Identitetsleverantören kunde inte nås. Försök igen om en stund.",
    )
}

fn refused_token(error: ClaimsVerificationError) -> Refusal {
    let (reason, what) = match &error {
        ClaimsVerificationError::Expired(_) => ("id_token_expired", "har gått ut"),
        ClaimsVerificationError::InvalidAudience(_) => {
            ("id_token_audience", "är utfärdad för en annan tjänst")
        }
        ClaimsVerificationError::InvalidIssuer(_) => {
            ("id_token_issuer", "kommer från en annan utfärdare")
        }
        ClaimsVerificationError::InvalidNonce(_) => {
            ("id_token_nonce", "hör inte till den här inloggningen")
        }
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => (
            "id_token_unknown_key",
            "är signerad med en nyckel som leverantören inte har",
        ),
        ClaimsVerificationError::SignatureVerification(_) => {
            ("id_token_signature", "har en ogiltig signatur")
        }
        _ => ("id_token_invalid", "är ogiltig"),
    };
    tracing::warn!(reason, cause = %error, "an ID token was refused");
    Refusal::new(reason, format!("Inloggningen nekades: ID-token {what}."))
}

/// The role that the provider's role names give through `map` (the names themselves when
/// `map` is empty), and the län a region role needs. Several known names give the widest
/// role. Never the scheduler: machines keep bearer tokens.
pub fn role_from(
    names: &[String],
    lan: Option<&str>,
    map: &[(String, String)],
) -> Result<(Role, Option<RegionCode>), Refusal> {
    let roles = names.iter().filter_map(|name| {
        let role = if map.is_empty() {
            Some(name.as_str())
        } else {
            map.iter()
                .find(|(given, _)| given == name)
                .map(|(_, role)| role.as_str())
        };
        role.and_then(Role::parse)
            .filter(|role| *role != Role::Scheduler)
    });
    let widest = roles.max_by_key(|role| match role {
        Role::Region => 0,
        Role::National => 1,
        Role::Admin => 2,
        Role::Scheduler => -1,
    });
    match widest {
        None => Err(Refusal::new(
            "no_known_role",
            "Ditt konto har ingen roll i uppföljningstjänsten. Be din administratör om behörighet.",
        )),
        Some(Role::Region) => match lan.and_then(RegionCode::parse) {
            Some(region) => Ok((Role::Region, Some(region))),
            None => Err(Refusal::new(
                "no_valid_lan",
                "Ditt konto har regionrollen men inget giltigt län. Be din administratör om behörighet.",
            )),
        },
        Some(role) => Ok((role, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn roles_come_from_the_claims_own_names_or_the_mapping() {
        let (role, region) = role_from(&names(&["region"]), Some("07"), &[]).unwrap();
        assert_eq!((role, region.unwrap().as_str()), (Role::Region, "07"));
        assert_eq!(
            role_from(&names(&["national", "region"]), None, &[])
                .unwrap()
                .0,
            Role::National
        );
        let map = vec![
            ("uppf-admin".to_string(), "admin".to_string()),
            ("uppf-analys".to_string(), "national".to_string()),
        ];
        assert_eq!(
            role_from(&names(&["staff", "uppf-analys"]), None, &map)
                .unwrap()
                .0,
            Role::National
        );
        // With a mapping, the roles' own names are only names.
        assert_eq!(
            role_from(&names(&["admin"]), None, &map)
                .unwrap_err()
                .reason,
            "no_known_role"
        );
    }

    #[test]
    fn no_role_no_valid_lan_and_the_scheduler_are_refused() {
        assert_eq!(
            role_from(&[], None, &[]).unwrap_err().reason,
            "no_known_role"
        );
        assert_eq!(
            role_from(&names(&["scheduler"]), None, &[])
                .unwrap_err()
                .reason,
            "no_known_role"
        );
        for lan in [None, Some("99"), Some("7")] {
            assert_eq!(
                role_from(&names(&["region"]), lan, &[]).unwrap_err().reason,
                "no_valid_lan"
            );
        }
    }

    #[test]
    fn the_dashboard_lies_beside_the_callback() {
        assert_eq!(
            dashboard_url("https://u.example.se/auth/callback"),
            "https://u.example.se/dashboard/"
        );
        assert_eq!(
            dashboard_url("http://localhost:8080/auth/callback"),
            "http://localhost:8080/dashboard/"
        );
    }
}
