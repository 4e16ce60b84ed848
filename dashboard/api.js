// The service's API as the dashboard calls it: the token from this tab's sessionStorage as
// a Bearer header, problem+json errors turned into exceptions carrying the API's message.

const TOKEN = "uppfoljning.token";

export class ApiError extends Error {
  constructor(status, message, problem = null) {
    super(message);
    this.status = status;
    // The problem document as the API sent it (a refused submission's `errors`), if any.
    this.problem = problem;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
}

/// Who the token says the caller is: its role and region, read from its payload for the
/// views (the API decides what the caller may see).
export function caller() {
  try {
    const payload = token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return { role: claims.role, region: claims.region ?? null, subject: claims.sub };
  } catch {
    return { role: null, region: null, subject: null };
  }
}

/// One call of the API. `body` is sent as it is (a file) or, if it is an object, as JSON;
/// `headers` are added (If-Match, Accept-Language, Content-Type).
async function request(path, { method = "GET", accept = "application/json", headers = {}, body } = {}) {
  const sent = { Authorization: `Bearer ${token()}`, Accept: accept, ...headers };
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
