// Calls of the admin pages and the dashboard: banks, API keys, users, the audit log, the
// stats and their hourly series. JSON calls go through api.js (session cookie, CSRF token);
// uploads send a form with the same token.
import { ApiError, call, csrfToken } from "./api.js";

const q = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined)).toString();
const seg = encodeURIComponent;

async function upload(path, form) {
  const resp = await fetch(path, { method: "POST", body: form, credentials: "same-origin", headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() || "" } });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new ApiError(resp.status, data.detail || resp.statusText);
  return data;
}

export const banks = () => call("GET", "/v1/banks");
export const bank = (name, { limit, offset, query }) => call("GET", `/v1/banks/${seg(name)}?${q({ limit, offset, q: query })}`);
export const addBankPhoto = (name, form) => upload(`/v1/banks/${seg(name)}/photos`, form);
export const importBank = (name, form) => upload(`/v1/banks/${seg(name)}/import`, form);
export const removeBankEntry = (name, id) => call("DELETE", `/v1/banks/${seg(name)}/entries/${id}`);
export const exportBankUrl = (name) => `/v1/banks/${seg(name)}/export.csv`;

export const keys = () => call("GET", "/v1/admin/keys");
export const createKey = (body) => call("POST", "/v1/admin/keys", body);
export const revokeKey = (id) => call("POST", `/v1/admin/keys/${id}/revoke`);

export const users = () => call("GET", "/v1/admin/users");
export const createUser = (body) => call("POST", "/v1/admin/users", body);
export const setDisabled = (name, disabled) => call("POST", `/v1/admin/users/${seg(name)}/${disabled ? "disable" : "enable"}`);
export const setRole = (name, role) => call("POST", `/v1/admin/users/${seg(name)}/role`, { role });

export const audit = (params) => call("GET", `/v1/admin/audit?${q(params)}`);
export const auditCsvUrl = (params) => `/v1/admin/audit.csv?${q(params)}`;

export const stats = (hours = 24) => call("GET", `/v1/review/stats?hours=${hours}`);
export const series = (hours = 48) => call("GET", `/v1/review/stats/series?hours=${hours}`);
