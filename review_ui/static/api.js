// Calls to the review API. The session cookie travels by itself (same origin); every
// state-changing call adds the CSRF token returned at login.
let csrf = null;

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function call(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, data.detail || resp.statusText);
  return data;
}

/** The session's CSRF token, for a call that sends a form (admin-api.js uploads). */
export const csrfToken = () => csrf;

export async function session() {
  const s = await call("GET", "/v1/auth/session");
  csrf = s.csrf_token;
  return s;
}
export async function login(username, password) {
  const s = await call("POST", "/v1/auth/login", { username, password });
  csrf = s.csrf_token;
  return s;
}
export const logout = () => call("POST", "/v1/auth/logout");
export const claim = (limit, queue, resume) => call("POST", "/v1/review/claim", { limit, queue: queue || null, resume: !!resume });
export const decide = (taskId, decision, applyToDuplicates) =>
  call("POST", `/v1/review/tasks/${taskId}/decision`, { decision, apply_to_duplicates: !!applyToDuplicates });
export const bulk = (taskIds, decision) => call("POST", "/v1/review/bulk", { task_ids: taskIds, decision });
export const release = (taskId) => call("POST", `/v1/review/tasks/${taskId}/release`);
export const undo = (decisionId) => call("POST", `/v1/review/decisions/${decisionId}/undo`);
export const stats = () => call("GET", "/v1/review/stats");
export const audit = (limit = 50) => call("GET", `/v1/admin/audit?limit=${limit}`);
export const search = (params) => call("GET", `/v1/review/search?${params}`);
export const item = (itemId) => call("GET", `/v1/review/items/${encodeURIComponent(itemId)}`);
