import { escapeHtml } from './escape.js'

/** What a form shows again after a refusal: the message, and what was typed (never the password). */
export interface FormState {
  readonly error?: string
  readonly email?: string
  readonly name?: string
  /** Where to go after success: a path on this site. */
  readonly next: string
}

const alert = (error: string | undefined): string => error === undefined ? '' : `<p role="alert">${escapeHtml(error)}</p>`
const next = (state: FormState): string => `<input type="hidden" name="next" value="${escapeHtml(state.next)}">`
const email = (state: FormState): string =>
  `<label>Email <input type="email" name="email" value="${escapeHtml(state.email ?? '')}" autocomplete="email" required maxlength="254"></label>`

export function renderLoginBody (state: FormState): string {
  return `<h1>Log in</h1>${alert(state.error)}
<form method="post" action="/login">${next(state)}
${email(state)}
<label>Password <input type="password" name="password" autocomplete="current-password" required minlength="8" maxlength="200"></label>
<button type="submit">Log in</button></form>
<p>New here? <a href="/register?next=${encodeURIComponent(state.next)}">Register</a></p>`
}

export function renderRegisterBody (state: FormState): string {
  return `<h1>Register</h1>${alert(state.error)}
<form method="post" action="/register">${next(state)}
<label>Name <input type="text" name="name" value="${escapeHtml(state.name ?? '')}" autocomplete="name" required maxlength="100"></label>
${email(state)}
<label>Password <input type="password" name="password" autocomplete="new-password" required minlength="8" maxlength="200"></label>
<button type="submit">Register</button></form>
<p>Have an account? <a href="/login?next=${encodeURIComponent(state.next)}">Log in</a></p>`
}
