/**
 * The demo sales data, generated in memory from a seed and a day: the same day gives the
 * same rows everywhere, and every date is relative to that day, so "last month" always
 * has orders. Amounts are kept in integer cents here so totals add up exactly.
 */
import { CATEGORIES, CHANNELS, COUNTRIES, CUSTOMER_SEGMENTS, FIRST_NAMES, LAST_NAMES } from "./catalogue";
import { cumulative, prng, type Prng } from "./prng";

const SEED = 0x1ed6e71e;
const DAY_MS = 86_400_000;
/** Orders cover this many days, the last one being "today". */
export const ORDER_DAYS = 730;
const CUSTOMER_COUNT = 500;
const ORDERS_PER_DAY = 8.2;

export interface CategoryRow { category_id: number; name: string; description: string }
export interface ProductRow { product_id: number; sku: string; name: string; category_id: number; unit_price_cents: number; unit_cost_cents: number; is_active: boolean }
export interface CustomerRow { customer_id: number; first_name: string; last_name: string; email: string; city: string; country: string; segment: string; created_at: Date }
export interface OrderRow { order_id: number; customer_id: number; order_date: Date; status: string; channel: string; total_cents: number }
export interface OrderItemRow { order_item_id: number; order_id: number; product_id: number; quantity: number; unit_price_cents: number }

export interface DemoData {
  today: Date;
  categories: CategoryRow[];
  products: ProductRow[];
  customers: CustomerRow[];
  orders: OrderRow[];
  order_items: OrderItemRow[];
}

export type DemoRowCounts = Record<"categories" | "products" | "customers" | "orders" | "order_items", number>;

/** Midnight UTC of the given instant's day: the anchor every generated date hangs from. */
export function startOfUtcDay(day: Date): Date {
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()));
}

export function generateDemoData(today: Date = new Date()): DemoData {
  const anchor = startOfUtcDay(today);
  // Seeded by the day as well, so two days differ a little but one day never does.
  const random = prng(SEED ^ Math.floor(anchor.getTime() / DAY_MS));
  const categories = CATEGORIES.map((c, i) => ({ category_id: i + 1, name: c.name, description: c.description }));
  const products = generateProducts(random);
  const customers = generateCustomers(random, anchor);
  const { orders, order_items } = generateOrders(random, anchor, products, customers);
  return { today: anchor, categories, products, customers, orders, order_items };
}

export function rowCounts(data: DemoData): DemoRowCounts {
  return {
    categories: data.categories.length,
    products: data.products.length,
    customers: data.customers.length,
    orders: data.orders.length,
    order_items: data.order_items.length,
  };
}

function generateProducts(random: Prng): ProductRow[] {
  const products: ProductRow[] = [];
  CATEGORIES.forEach((category, c) => {
    for (const name of category.products) {
      const [low, high] = category.price;
      // Log-uniform: most products cheap, a few expensive, as in a real catalogue.
      const price = Math.exp(Math.log(low) + random.next() * (Math.log(high) - Math.log(low)));
      const unitPriceCents = Math.max(99, Math.round(price) * 100 - 1);
      products.push({
        product_id: products.length + 1,
        sku: `${category.name.slice(0, 3).toUpperCase()}-${String(products.length + 1).padStart(4, "0")}`,
        name,
        category_id: c + 1,
        unit_price_cents: unitPriceCents,
        unit_cost_cents: Math.round(unitPriceCents * (0.4 + random.next() * 0.3)),
        is_active: random.next() > 0.05,
      });
    }
  });
  return products;
}

function asciiFold(s: string): string {
  return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z]/g, "");
}

function generateCustomers(random: Prng, anchor: Date): CustomerRow[] {
  const countryTable = cumulative(COUNTRIES.map((c) => c.weight));
  const segmentTable = cumulative([75, 18, 7]);
  const signups: Array<Omit<CustomerRow, "customer_id" | "email">> = [];
  for (let i = 0; i < CUSTOMER_COUNT; i++) {
    const country = COUNTRIES[random.weighted(countryTable)];
    // A fifth were customers before the first order in the data; sqrt skews the rest
    // towards the recent past, as for a growing shop.
    const daysAgo = random.next() < 0.2 ? ORDER_DAYS + random.int(1, 90) : 1 + Math.floor((1 - Math.sqrt(random.next())) * (ORDER_DAYS - 1));
    signups.push({
      first_name: random.pick(FIRST_NAMES),
      last_name: random.pick(LAST_NAMES),
      city: random.pick(country.cities),
      country: country.name,
      segment: CUSTOMER_SEGMENTS[random.weighted(segmentTable)],
      created_at: new Date(anchor.getTime() - daysAgo * DAY_MS + random.int(0, DAY_MS / 1000 - 1) * 1000),
    });
  }
  // Ids in signup order, as a sequence would have given them.
  signups.sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
  return signups.map((s, i) => ({
    customer_id: i + 1,
    ...s,
    email: `${asciiFold(s.first_name)}.${asciiFold(s.last_name)}${i + 1}@example.com`,
  }));
}

/** Relative order volume per month (January first): a quiet start of the year, a busy end. */
const MONTH_VOLUME = [0.8, 0.75, 0.9, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.45, 1.7];
const ITEMS_PER_ORDER = cumulative([25, 30, 22, 13, 7, 3]);
const QUANTITY = cumulative([70, 20, 7, 2, 1]);
const HOUR_OF_DAY = cumulative([1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 9, 9, 8, 5, 3]);

function generateOrders(random: Prng, anchor: Date, products: ProductRow[], customers: CustomerRow[]) {
  // Popularity follows a power law over a shuffled ranking, so a few products dominate.
  const rank = products.map((_, i) => i);
  for (let i = rank.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  // Dearer products sell fewer units, so no single expensive item swamps the revenue.
  const popularity = products.map((p, i) => 1 / Math.pow(rank[i] + 1, 0.75) / Math.sqrt(p.unit_price_cents / 5000));
  const productTables = Array.from({ length: 12 }, (_, month) =>
    cumulative(products.map((p, i) => popularity[i] * (CATEGORIES[p.category_id - 1].peakMonths.includes(month + 1) ? 2.2 : 1))),
  );
  // Some customers buy far more often than others.
  const customerTable = cumulative(customers.map(() => Math.exp(1.2 * (random.next() + random.next() + random.next() - 1.5))));
  const channelTable = cumulative(CHANNELS.map((c) => c.weight));

  const orders: OrderRow[] = [];
  const order_items: OrderItemRow[] = [];
  let signedUp = 0;
  for (let daysAgo = ORDER_DAYS - 1; daysAgo >= 0; daysAgo--) {
    const dayStart = anchor.getTime() - daysAgo * DAY_MS;
    const day = new Date(dayStart);
    const weekend = day.getUTCDay() === 0 || day.getUTCDay() === 6 ? 1.2 : 1;
    const growth = 0.75 + 0.5 * ((ORDER_DAYS - daysAgo) / ORDER_DAYS);
    const expected = ORDERS_PER_DAY * MONTH_VOLUME[day.getUTCMonth()] * weekend * growth;
    const count = Math.floor(expected * (0.7 + 0.6 * random.next()) + random.next());
    const times = Array.from({ length: count }, () => dayStart + random.weighted(HOUR_OF_DAY) * 3_600_000 + random.int(0, 3599) * 1000).sort((a, b) => a - b);
    for (const time of times) {
      while (signedUp < customers.length && customers[signedUp].created_at.getTime() <= time) signedUp++;
      if (signedUp === 0) continue;
      const customer = pickAmongFirst(random, customerTable, signedUp);
      const order: OrderRow = {
        order_id: orders.length + 1,
        customer_id: customers[customer].customer_id,
        order_date: new Date(time),
        status: statusFor(random, daysAgo),
        channel: CHANNELS[random.weighted(channelTable)].name,
        total_cents: 0,
      };
      const chosen = new Set<number>();
      const lines = 1 + random.weighted(ITEMS_PER_ORDER);
      for (let l = 0; l < lines; l++) {
        const p = random.weighted(productTables[day.getUTCMonth()]);
        if (chosen.has(p)) continue;
        chosen.add(p);
        const listCents = products[p].unit_price_cents;
        // Prices rose about 5% a year ago; one line in twelve was on a 10% promotion.
        let cents = daysAgo > 365 ? Math.round(listCents * 0.95) : listCents;
        if (random.next() < 1 / 12) cents = Math.round(cents * 0.9);
        const quantity = 1 + random.weighted(QUANTITY);
        order_items.push({ order_item_id: order_items.length + 1, order_id: order.order_id, product_id: products[p].product_id, quantity, unit_price_cents: cents });
        order.total_cents += quantity * cents;
      }
      orders.push(order);
    }
  }
  return { orders, order_items };
}

/** A customer index below `limit`, drawn with the customers' buying weights. */
function pickAmongFirst(random: Prng, table: number[], limit: number): number {
  const target = random.next() * table[limit - 1];
  let lo = 0;
  let hi = limit - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (table[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Recent orders are still on their way; older ones completed, or were cancelled or refunded. */
function statusFor(random: Prng, daysAgo: number): string {
  const r = random.next();
  if (daysAgo <= 2) return r < 0.4 ? "pending" : r < 0.8 ? "processing" : r < 0.95 ? "shipped" : "cancelled";
  if (daysAgo <= 7) return r < 0.1 ? "processing" : r < 0.6 ? "shipped" : r < 0.95 ? "completed" : "cancelled";
  return r < 0.88 ? "completed" : r < 0.95 ? "cancelled" : "refunded";
}
