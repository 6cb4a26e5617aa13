/**
 * The demo database's tables, keys, checks and catalog comments. The comments matter: they
 * are what the schema browser shows and what a translator reads to understand the data.
 */
import { CHANNELS, CUSTOMER_SEGMENTS, ORDER_STATUSES } from "./catalogue";

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

export const DEMO_DDL = `
CREATE TABLE categories (
  category_id integer PRIMARY KEY,
  name text NOT NULL UNIQUE,
  description text
);
CREATE TABLE products (
  product_id integer PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  category_id integer NOT NULL,
  unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0),
  unit_cost numeric(12,2) NOT NULL CHECK (unit_cost >= 0),
  is_active boolean NOT NULL DEFAULT true
);
CREATE TABLE customers (
  customer_id integer PRIMARY KEY,
  first_name text NOT NULL,
  last_name text NOT NULL,
  email text NOT NULL UNIQUE,
  city text NOT NULL,
  country text NOT NULL,
  segment text NOT NULL CHECK (segment IN (${list(CUSTOMER_SEGMENTS)})),
  created_at timestamptz NOT NULL
);
CREATE TABLE orders (
  order_id integer PRIMARY KEY,
  customer_id integer NOT NULL,
  order_date timestamptz NOT NULL,
  status text NOT NULL CHECK (status IN (${list(ORDER_STATUSES)})),
  channel text NOT NULL CHECK (channel IN (${list(CHANNELS.map((c) => c.name))})),
  total_amount numeric(12,2) NOT NULL CHECK (total_amount >= 0)
);
CREATE TABLE order_items (
  order_item_id integer PRIMARY KEY,
  order_id integer NOT NULL,
  product_id integer NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price numeric(12,2) NOT NULL CHECK (unit_price >= 0)
);
`;

/**
 * Foreign keys and indexes, added once the rows are in: one validating join and one sort
 * each, instead of a trigger and an index update per inserted row.
 */
export const DEMO_KEYS_AND_INDEXES = `
ALTER TABLE products ADD CONSTRAINT products_category_id_fkey FOREIGN KEY (category_id) REFERENCES categories (category_id);
ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (customer_id);
ALTER TABLE order_items ADD CONSTRAINT order_items_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (order_id);
ALTER TABLE order_items ADD CONSTRAINT order_items_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (product_id);
CREATE INDEX products_category_id_idx ON products (category_id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX orders_order_date_idx ON orders (order_date);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
`;

/** Table comment, then one comment per column; every table and column has one. */
export const DEMO_COMMENTS: Record<string, { table: string; columns: Record<string, string> }> = {
  categories: {
    table: "Product categories of the store's catalogue",
    columns: {
      category_id: "Identifier of the category",
      name: "Category name, unique (e.g. Electronics, Books)",
      description: "What the category contains",
    },
  },
  products: {
    table: "Products the store sells, each in one category",
    columns: {
      product_id: "Identifier of the product",
      sku: "Stock keeping unit, unique code of the product",
      name: "Product name as shown to customers",
      category_id: "Category the product belongs to",
      unit_price: "Current list price of one unit, in USD",
      unit_cost: "What one unit costs the store, in USD",
      is_active: "Whether the product is still offered for sale",
    },
  },
  customers: {
    table: "People and businesses who have an account with the store",
    columns: {
      customer_id: "Identifier of the customer",
      first_name: "Customer's first name",
      last_name: "Customer's last name",
      email: "Customer's e-mail address, unique",
      city: "City of the customer's address",
      country: "Country of the customer's address",
      segment: `Customer segment: ${CUSTOMER_SEGMENTS.join(", ")}`,
      created_at: "When the customer signed up",
    },
  },
  orders: {
    table: "Orders placed by customers; one row per order",
    columns: {
      order_id: "Identifier of the order",
      customer_id: "Customer who placed the order",
      order_date: "When the order was placed",
      status: `Order status: ${ORDER_STATUSES.join(", ")}`,
      channel: `Where the order was placed: ${CHANNELS.map((c) => c.name).join(", ")}`,
      total_amount: "Order total in USD: the sum of its items' quantity times unit price",
    },
  },
  order_items: {
    table: "Lines of an order: one product, its quantity and the price paid",
    columns: {
      order_item_id: "Identifier of the order line",
      order_id: "Order the line belongs to",
      product_id: "Product ordered",
      quantity: "Number of units ordered",
      unit_price: "Price paid per unit at the time of the order, in USD",
    },
  },
};

export function commentStatements(): string {
  const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const lines: string[] = [];
  for (const [table, { table: comment, columns }] of Object.entries(DEMO_COMMENTS)) {
    lines.push(`COMMENT ON TABLE ${table} IS ${quote(comment)};`);
    for (const [column, text] of Object.entries(columns)) lines.push(`COMMENT ON COLUMN ${table}.${column} IS ${quote(text)};`);
  }
  return lines.join("\n");
}
