import type { Db } from '../../src/index.js'
import { IDEMPOTENCY_KEYS_SCHEMA } from './idempotency.js'

/** The shop's schema; every statement is idempotent so migrate can run on every start. */
export async function migrate (db: Db): Promise<void> {
  await db.write(`
    CREATE TABLE IF NOT EXISTS categories (
      id serial PRIMARY KEY,
      slug text NOT NULL UNIQUE,
      name text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS products (
      id serial PRIMARY KEY,
      category_id int NOT NULL REFERENCES categories(id),
      name text NOT NULL,
      description text NOT NULL,
      price_cents int NOT NULL CHECK (price_cents >= 0),
      stock int NOT NULL CHECK (stock >= 0),
      updated_at timestamptz NOT NULL DEFAULT now(),
      search tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || description)) STORED
    );
    CREATE INDEX IF NOT EXISTS products_category_idx ON products (category_id, id);
    CREATE INDEX IF NOT EXISTS products_search_idx ON products USING gin (search);
    CREATE TABLE IF NOT EXISTS users (
      id serial PRIMARY KEY,
      email text NOT NULL UNIQUE,
      name text NOT NULL,
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS orders (
      id bigserial PRIMARY KEY,
      user_id int NOT NULL REFERENCES users(id),
      idempotency_key text,
      total_cents bigint NOT NULL,
      status text NOT NULL DEFAULT 'placed',
      receipt text,
      created_at timestamptz NOT NULL DEFAULT now(),
      confirmed_at timestamptz
    );
    -- Keys are idempotency_keys' job now; an expired key may place another order.
    ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_user_id_idempotency_key_key;
    CREATE INDEX IF NOT EXISTS orders_user_idx ON orders (user_id, id DESC);
    CREATE INDEX IF NOT EXISTS orders_placed_idx ON orders (created_at) WHERE status = 'placed';
    CREATE TABLE IF NOT EXISTS order_items (
      order_id bigint NOT NULL REFERENCES orders(id),
      product_id int NOT NULL REFERENCES products(id),
      qty int NOT NULL CHECK (qty > 0),
      price_cents int NOT NULL,
      PRIMARY KEY (order_id, product_id)
    );
    -- Raised by every write of a product: the version its cache entry is written through with.
    ALTER TABLE products ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;
    -- Page views, counted through write-behind (views.ts).
    CREATE TABLE IF NOT EXISTS product_views (
      product_id int PRIMARY KEY REFERENCES products(id),
      views bigint NOT NULL DEFAULT 0
    );
  `)
  await db.write(IDEMPOTENCY_KEYS_SCHEMA)
}
