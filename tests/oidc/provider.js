// A real OpenID provider for the sign-in tests: `oidc-provider` (pinned in package.json,
// installed by .ci/run into target/oidc-provider) with its own login form, a client for the
// service, another client (a different audience) and users whose claims map to each role.
//
//   node tests/oidc/provider.js PORT ISSUER REDIRECT_URI POST_LOGOUT_URI
//
// Each start signs with a key pair of its own, so that a second provider started with the
// same issuer signs with keys the first one does not have. With OIDC_PROVIDER_KEYS naming a
// file, a start rotates the keys kept there as a provider does: its new key signs and is
// published first, the keys of earlier starts stay published for the tokens they signed.
// With OIDC_PROVIDER_CHANGES naming a file, the claims it holds by login name replace those
// below at every sign-in, as an organisation changes what it says of a person.
// Prints "ready" when listening.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(`${process.env.OIDC_PROVIDER_MODULES}/`);
const { default: Provider } = await import(require.resolve("oidc-provider"));

const [port, issuer, redirectUri, postLogoutUri] = process.argv.slice(2);

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const key = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), use: "sig", alg: "RS256" };
const keysFile = process.env.OIDC_PROVIDER_KEYS;
const earlierKeys = keysFile && existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, "utf8")) : [];
const keys = [key, ...earlierKeys];
if (keysFile) writeFileSync(keysFile, JSON.stringify(keys));

// The login name is the account; what each person's organisation says of them.
const people = {
  "anna.region07": { roles: ["region"], lan: "07", name: "Anna Kronoberg" },
  "karl.region12": { roles: "region", lan: "12", name: "Karl Skåne" },
  "nora.analytiker": { roles: ["national"], name: "Nora Tillväxtverket" },
  "ada.admin": { roles: ["admin", "region"], lan: "01", name: "Ada Admin" },
  "utan.roll": { roles: [], name: "Utan Roll" },
  "region.utan.lan": { roles: ["region"], name: "Region Utan Län" },
  "maskin": { roles: ["scheduler"], name: "Maskin" },
  // Another account whose user name at the provider is Anna's: a name the provider lets
  // change, never who someone is.
  "anna.ny": { roles: ["region"], lan: "07", name: "Anna Kronoberg", preferred_username: "anna.region07" },
  // An account with no user name or email address: only its sub names it.
  "konto-4711": { roles: ["region"], lan: "07", preferred_username: undefined, email: undefined },
};

const configuration = {
  clients: [
    {
      client_id: "uppfoljning",
      client_secret: "uppfoljning-test-secret",
      redirect_uris: [redirectUri],
      post_logout_redirect_uris: [postLogoutUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
    },
    {
      // Another service of the organisation: its tokens are not for uppfoljning.
      client_id: "annan-tjanst",
      client_secret: "annan-tjanst-test-secret",
      redirect_uris: [redirectUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_post",
    },
  ],
  jwks: { keys },
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  claims: {
    openid: ["sub", "roles", "lan"],
    profile: ["name", "preferred_username"],
    email: ["email"],
  },
  // The claims of the granted scopes go into the ID token, as Entra ID puts app roles there.
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const changesFile = process.env.OIDC_PROVIDER_CHANGES;
    const changes = changesFile && existsSync(changesFile) ? JSON.parse(readFileSync(changesFile, "utf8")) : {};
    const person = changes[id] ?? people[id] ?? { name: id };
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email: `${id}@example.se`, ...person };
      },
    };
  },
  // First-party clients: no consent screen, as an organisation's own services have none.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid profile email");
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(Number(port), "127.0.0.1", () => {
  console.log("ready");
});
