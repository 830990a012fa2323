/** Text and attribute values for HTML: every character that could end a text run or an attribute is escaped. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export const price = (cents: number): string => `$${(cents / 100).toFixed(2)}`

/** How an order's status reads to a buyer. */
export const statusLabel = (status: string): string => status === 'placed' ? 'pending' : status
