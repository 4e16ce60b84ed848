// The service's API as the dashboard calls it: the token from this tab's sessionStorage as
// a Bearer header, problem+json errors turned into exceptions carrying the API's message.

const TOKEN = "uppfoljning.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
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

async function request(path, accept) {
  const response = await fetch(`/api/v1${path}`, {
    headers: { Authorization: `Bearer ${token()}`, Accept: accept },
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      message = problem.detail || problem.title || message;
    } catch {
      // The status says it.
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function get(path) {
  return (await request(path, "application/json")).json();
}

/// Saves the answer to `path` (a format of the same figures) as a file.
export async function download(path, filename) {
  const blob = await (await request(path, "*/*")).blob();
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
