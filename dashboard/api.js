// The service's API as the dashboard calls it, problem+json errors turned into exceptions
// carrying the API's message. Two ways in, as the service tells (`GET /auth/session`): with
// an identity provider the browser's session cookie (HttpOnly: no secret in the page) and
// the session's CSRF token on requests that change data; without one a pasted token from
// this tab's sessionStorage as a Bearer header.

const TOKEN = "uppfoljning.token";

/// What `GET /auth/session` said: `provider`, `signed_in`, `role`, `region`, `person`,
/// `csrf_token`.
let session = { provider: false, signed_in: false };

/// The longest `Retry-After` a read waits out, and how many times it is asked again, when
/// the caller's rate limit refuses it: a national analyst reloading the Översikt meets the
/// limit for a second or so, worth waiting for rather than an error; a longer wait is shown.
const RETRY_AFTER_MAX_SECONDS = 5;
const RETRIES = 2;

/// What the rate limit answers; a question that waited its turn too long (`busy`, also 429)
/// has waited enough and is not asked again.
const RATE_LIMITED = "urn:uppfoljning:problem:too-many-requests";

/// No read is sent before this moment (`performance.now()`): a limit met by one request is
/// the caller's, so the page's other requests wait with it instead of being refused too.
let notBefore = 0;

/// A read (`GET` or `HEAD`), asked again when the service says, in `Retry-After`, that the
/// caller's rate limit allows it within a few seconds.
async function fetchRead(url, options = {}) {
  for (let retry = 0; ; retry++) {
    const wait = notBefore - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const response = await fetch(url, options);
    if (response.status !== 429 || retry === RETRIES) return response;
    const problem = await response.clone().json().catch(() => ({}));
    if (problem.type !== RATE_LIMITED) return response;
    const header = response.headers.get("Retry-After");
    const seconds = header === null || header.trim() === "" ? NaN : Number(header);
    if (!(seconds >= 0 && seconds <= RETRY_AFTER_MAX_SECONDS)) return response;
    notBefore = Math.max(notBefore, performance.now() + seconds * 1000);
  }
}

/// Asks the service which way people sign in, and who is signed in; call before the rest.
export async function start() {
  const response = await fetchRead("/auth/session", { headers: { Accept: "application/json" } });
  if (response.ok) session = await response.json();
  return session;
}

/// Whether people sign in with the organisation's identity provider.
export function usesProvider() {
  return session.provider === true;
}

/// Whether someone is signed in, by either way.
export function signedIn() {
  return usesProvider() ? session.signed_in === true : Boolean(token());
}

export class ApiError extends Error {
  constructor(status, message, problem = null) {
    super(message);
    this.status = status;
    // The problem document as the API sent it (a refused submission's `errors`), if any.
    this.problem = problem;
  }
}

/// The pasted token; none with an identity provider.
export function token() {
  return usesProvider() ? null : pastedToken();
}

/// The token pasted in this tab, whether or not the service has yet said it takes one.
export function pastedToken() {
  return sessionStorage.getItem(TOKEN);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN, value.trim());
}

/// Ends the sign-in. With a provider the service ends the session, and the browser goes on
/// to the provider's sign-out where it offers one.
export function signOut() {
  sessionStorage.removeItem(TOKEN);
  if (!usesProvider() || !session.signed_in) return;
  const csrf = session.csrf_token;
  session = { provider: true, signed_in: false };
  fetch("/auth/logout", { method: "POST", headers: { "X-CSRF-Token": csrf } })
    .then((response) => (response.ok ? response.json() : {}))
    .then((answer) => {
      if (answer.logout_url) location.assign(answer.logout_url);
    })
    .catch(() => {});
}

/// Who the caller is: the session's role, region and person, or what the token's payload
/// says, for the views (the API decides what the caller may see).
export function caller() {
  if (usesProvider()) {
    return { role: session.role ?? null, region: session.region ?? null, subject: session.person ?? null };
  }
  try {
    const payload = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return { role: claims.role, region: claims.region ?? null, subject: claims.sub };
  } catch {
    return { role: null, region: null, subject: null };
  }
}

/// The headers that say who asks: the session's CSRF token on a request that changes data
/// (the cookie goes by itself), or the pasted token.
export function authHeaders(method = "GET") {
  if (!usesProvider()) return { Authorization: `Bearer ${token()}` };
  return method === "GET" || method === "HEAD" ? {} : { "X-CSRF-Token": session.csrf_token };
}

/// One call of the API. `body` is sent as it is (a file) or, if it is an object, as JSON;
/// `headers` are added (If-Match, Accept-Language, Content-Type).
async function request(path, { method = "GET", accept = "application/json", headers = {}, body } = {}) {
  const sent = { ...authHeaders(method), Accept: accept, ...headers };
  let payload = body;
  if (body !== undefined && !(body instanceof Blob)) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const url = `/api/v1${path}`;
  const options = { method, headers: sent, body: payload };
  const response = method === "GET" || method === "HEAD" ? await fetchRead(url, options) : await fetch(url, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let problem = null;
    try {
      problem = await response.json();
      message = problem.detail || problem.title || message;
    } catch {
      // The status says it.
    }
    throw new ApiError(response.status, message, problem);
  }
  return response;
}

export async function get(path) {
  return (await request(path)).json();
}

/// The answer to `path` with its `ETag` (a report's revision, for `If-Match`).
export async function read(path) {
  const response = await request(path);
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

/// POSTs `body` (an object as JSON, or a file) with `headers`; the answer with its `ETag`.
export async function post(path, body, headers = {}) {
  const response = await request(path, { method: "POST", headers, body });
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

/// Saves the answer to `path` (a format of the same figures) as a file.
export async function download(path, filename) {
  const blob = await (await request(path, { accept: "*/*" })).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

/// A query string of the parameters that have a value.
export function query(parameters) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null && value !== undefined && value !== "") {
      search.set(name, value);
    }
  }
  return search.toString();
}
