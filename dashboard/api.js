// The service's API as the dashboard calls it, problem+json errors turned into exceptions
// carrying the API's message. Two ways in, as the service tells (`GET /auth/session`): with
// an identity provider the browser's session cookie (HttpOnly: no secret in the page) and
// the session's CSRF token on requests that change data; without one a pasted token from
// this tab's sessionStorage as a Bearer header.

const TOKEN = "uppfoljning.token";

/// What `GET /auth/session` said: `provider`, `signed_in`, `role`, `region`, `person`,
/// `csrf_token`.
let session = { provider: false, signed_in: false };

/// Asks the service which way people sign in, and who is signed in; call before the rest.
export async function start() {
  const response = await fetch("/auth/session", { headers: { Accept: "application/json" } });
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
  return usesProvider() ? null : sessionStorage.getItem(TOKEN);
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
  const response = await fetch(`/api/v1${path}`, { method, headers: sent, body: payload });
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
