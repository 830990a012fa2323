import type { Db, SeedOptions } from '../../src/index.js'

export const DEMO_PASSWORD = 'password123'
/**
 * DEMO_PASSWORD hashed once with the current scrypt parameters (hashPassword): seeding stays
 * instant instead of spending ~100 ms of CPU and 128 MiB per hash. Every demo user shares it.
 */
export const DEMO_PASSWORD_HASH = 'scrypt$131072$8$1$NKFAiwfYeTI0Sfv6RDb2xw==$Wdmg6RjE63Vu/h83BC/BCb3dTgNcjApqftJb1pMbmO0='

const CATEGORIES = [
  'Books', 'Electronics', 'Kitchen', 'Garden', 'Toys', 'Sports', 'Music', 'Movies', 'Clothing', 'Shoes',
  'Beauty', 'Health', 'Automotive', 'Tools', 'Office', 'Pets', 'Baby', 'Grocery', 'Outdoors', 'Games',
]

/**
 * A realistic catalog generated inside PostgreSQL (fast even for millions of rows): products in
 * 20 categories with varied names, prices and stock, and users user1…userN@example.com whose
 * password is DEMO_PASSWORD. Runs once: a seeded database is left as it is.
 */
export async function seed (db: Db, options: SeedOptions): Promise<void> {
  const existing = await db.read<{ n: string }>('SELECT count(*) AS n FROM products')
  if (Number(existing.rows[0]?.n ?? 0) > 0) return
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO categories (slug, name) SELECT lower(c), c FROM unnest($1::text[]) AS c ON CONFLICT DO NOTHING`,
      [CATEGORIES],
    )
    await tx.query(`
      INSERT INTO products (category_id, name, description, price_cents, stock)
      SELECT 1 + (g * 7919) % ${CATEGORIES.length},
             (ARRAY['Classic','Deluxe','Compact','Smart','Eco','Pro','Ultra','Vintage','Portable','Premium','Basic','Wireless'])[1 + g % 12]
               || ' ' ||
             (ARRAY['Lamp','Kettle','Novel','Headphones','Backpack','Chair','Puzzle','Jacket','Blender','Drill','Notebook','Speaker','Sneakers','Tent','Camera','Mug'])[1 + (g / 12) % 16]
               || ' ' || g,
             'A dependable ' || lower((ARRAY['red','blue','green','black','white','silver','orange'])[1 + g % 7]) || ' item, model ' || g || ', loved by customers.',
             199 + (g * 104729) % 49800,
             20000 + (g * 31) % 80000
      FROM generate_series(1, $1::int) AS g`, [options.products])
    if (options.users > 0) {
      await tx.query(`
        INSERT INTO users (email, name, password_hash)
        SELECT 'user' || g || '@example.com', 'User ' || g, $2 FROM generate_series(1, $1::int) AS g
        ON CONFLICT (email) DO NOTHING`, [options.users, DEMO_PASSWORD_HASH])
    }
  })
}
