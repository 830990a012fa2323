/**
 * The shop's two small browser scripts, served under /assets/. Pages work without them: they
 * fill the account links of pages that are the same for everyone, and update an order's status
 * when its receipt is ready. They build nodes with textContent, never HTML from data.
 */

/** On pages without per-visitor content (product pages): login state and cart count from the JSON API. */
const ACCOUNT = `(() => {
  const slot = document.getElementById('account')
  if (slot === null) return
  const get = (url) => fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
    .then((r) => r.ok ? r.json() : undefined, () => undefined)
  Promise.all([get('/api/me'), get('/api/cart')]).then(([me, cart]) => {
    const count = ((cart && cart.items) || []).reduce((n, item) => n + item.qty, 0)
    const link = (href, text) => { const a = document.createElement('a'); a.href = href; a.textContent = text; return a }
    const parts = []
    if (me && me.id !== undefined) {
      const who = document.createElement('span')
      const name = document.createElement('strong')
      name.textContent = me.name
      who.append('Signed in as ', name)
      const form = document.createElement('form')
      form.method = 'post'
      form.action = '/logout'
      const button = document.createElement('button')
      button.type = 'submit'
      button.textContent = 'Log out'
      form.append(button)
      parts.push(who, link('/orders', 'Orders'), link('/cart', 'Cart (' + count + ')'), form)
    } else {
      parts.push(link('/login', 'Log in'), link('/register', 'Register'), link('/cart', 'Cart (' + count + ')'))
    }
    slot.replaceChildren()
    parts.forEach((part, i) => { if (i > 0) slot.append(' · '); slot.append(part) })
  })
})()
`

/**
 * On an order's page: listens to the buyer's Server-Sent Events (the browser reconnects by itself,
 * with the last id it saw) and reads the order again when it is confirmed — also once the stream
 * opens, so a receipt finished between the page's rendering and the subscription is not missed.
 */
const ORDER_STATUS = `(() => {
  const holder = document.querySelector('[data-order-id]')
  const status = document.getElementById('order-status')
  if (holder === null || status === null || typeof EventSource !== 'function') return
  const orderId = Number(holder.getAttribute('data-order-id'))
  if (status.textContent === 'confirmed') return
  const events = new EventSource('/api/events')
  const show = (order) => {
    status.textContent = 'confirmed'
    const receipt = document.getElementById('receipt')
    if (receipt !== null && typeof order.receipt === 'string') { receipt.textContent = order.receipt; receipt.hidden = false }
    const pending = document.getElementById('receipt-pending')
    if (pending !== null) pending.hidden = true
    events.close()
  }
  const check = () => {
    fetch('/api/orders/' + orderId, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then((r) => r.ok ? r.json() : undefined)
      .then((order) => { if (order && order.receiptReady) show(order) }, () => {})
  }
  events.addEventListener('open', check)
  events.addEventListener('gap', check)
  events.addEventListener('order.confirmed', (event) => {
    try { if (JSON.parse(event.data).orderId === orderId) check() } catch {}
  })
})()
`

export const ASSETS: Readonly<Record<string, string>> = { 'account.js': ACCOUNT, 'order-status.js': ORDER_STATUS }
