// Calls to the review API. The session cookie travels by itself (same origin); every
// state-changing call adds the CSRF token returned at login.
let csrf = null;

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export async function call(method, path, body, keepalive = false) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin", keepalive });
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
// `filters`: {category, context, language, min_reports, sort}; `share`: claim a fair share of
// a short queue, so two moderators on it both get work.
export const claim = (limit, queue, resume, filters = {}) =>
  call("POST", "/v1/review/claim", { limit, queue: queue || null, resume: !!resume, share: true, ...filters });
// `extra`: {apply_to_duplicates, ban, reason_code, note}, each left out when unset.
export const decide = (taskId, decision, extra = {}) => call("POST", `/v1/review/tasks/${taskId}/decision`, { decision, ...extra });
export const bulk = (taskIds, decision, extra = {}) => call("POST", "/v1/review/bulk", { task_ids: taskIds, decision, ...extra });
// `skip`: the task goes back to the others, not to this moderator's next claim.
export const release = (taskId, { skip = false, keepalive = false } = {}) =>
  call("POST", `/v1/review/tasks/${taskId}/release${skip ? "?skip=true" : ""}`, undefined, keepalive);
export const undo = (decisionId, why) => call("POST", `/v1/review/decisions/${decisionId}/undo`, why ? { why } : undefined);
export const exposure = (itemId) => call("POST", `/v1/review/items/${encodeURIComponent(itemId)}/exposure`);
export const stats = () => call("GET", "/v1/review/stats");
export const audit = (limit = 50) => call("GET", `/v1/admin/audit?limit=${limit}`);
export const search = (params) => call("GET", `/v1/review/search?${params}`);
export const item = (itemId) => call("GET", `/v1/review/items/${encodeURIComponent(itemId)}`);
export const itemBans = (itemId) => call("GET", `/v1/review/items/${encodeURIComponent(itemId)}/bank-entries`);
export const unban = (itemId, entryId) => call("DELETE", `/v1/review/items/${encodeURIComponent(itemId)}/bans/${entryId}`);
