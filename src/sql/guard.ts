/**
 * The SQL guard: decides, from PostgreSQL's own parse tree (libpg-query), whether a
 * statement a person or the model wrote may run against a data source, and which
 * tables it reads. It is the first of two independent barriers: the executor still runs
 * whatever passes in a READ ONLY, rolled-back transaction with a timeout.
 *
 * Accepted: exactly one SELECT (WITH ... SELECT, UNION/INTERSECT/EXCEPT, VALUES), calling
 * only allowlisted functions (src/sql/function-allowlist.ts), reading only tables the
 * policy grants and no system catalog.
 *
 * How the tree is walked: every object and every list, generically, so that a node type
 * nested anywhere (a subquery inside a function argument, a CASE, ORDER BY, LATERAL,
 * VALUES, JSON_TABLE...) cannot hide a table or a function. Node types are themselves
 * allowlisted: a construct this guard does not know is refused, not waved through.
 *
 * Decisions worth knowing (the corpus test exercises each):
 * - Every EXPLAIN is refused, not only EXPLAIN ANALYZE (which executes): plans are not a
 *   query result, and the plain form is easy to turn into the other.
 * - Casts to reg* types ('pg_shadow'::regclass) are refused: they look names up in the
 *   system catalogs, which user SQL must not reach. XML (functions, XMLTABLE, the xml
 *   type) is refused as a whole: not needed for analytics and historically risky.
 * - Unqualified relations named pg_* are refused (pg_catalog is searched first, so they
 *   are catalogs), as are schemas named pg_* and information_schema, and 3-part names.
 * - Functions: unqualified or in pg_catalog, checked by bare name; any other schema is
 *   refused (a user-defined function can do anything its owner can).
 * - current_user/session_user/current_catalog/current_schema are refused like version():
 *   they describe the server, not the data.
 * - $1 parameters are refused: the executor sends none.
 * - Table names are reported as PostgreSQL resolves them: unquoted identifiers folded to
 *   lower case by the parser, quoted ones verbatim ("Orders" is not orders), `public.`
 *   dropped, any other schema kept (`sales.orders`). Names containing a dot are refused,
 *   so "sales.orders" quoted as one identifier cannot pose as sales.orders.
 * - statement_type is "SELECT" whenever the statement is a SELECT, valid or not (a
 *   refused SELECT still says why in `errors`); otherwise the parser's node name, for
 *   several statements the first that is not a SELECT.
 *
 * Usage: `await loadGuard()` once at start (loads the WASM parser); after that
 * `checkSql(sql, policy)` is synchronous and takes microseconds.
 */
import { loadModule, parseSync } from "libpg-query";
import { functionRefusal } from "./function-allowlist";
import type { GuardPolicy, GuardVerdict } from "./types";

export interface SqlGuard {
  check(sql: string, policy: GuardPolicy): GuardVerdict;
}

/** Longer input is refused before parsing: no analytical question needs 100 kB of SQL. */
export const MAX_SQL_LENGTH = 100_000;

let loading: Promise<void> | null = null;
let loaded = false;

/** Loads the parser once (idempotent); the returned guard checks synchronously. */
export async function loadGuard(): Promise<SqlGuard> {
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  await loading;
  return { check: checkSql };
}

type Json = Record<string, unknown>;

/** Why a top-level statement of this kind is refused, in words. */
function statementHint(type: string): string {
  if (/^(Insert|Update|Delete|Merge)Stmt$/.test(type)) return "it changes data";
  if (type === "CopyStmt") return "COPY reads and writes server files and programs";
  if (type === "VariableSetStmt") return "SET/RESET changes session settings";
  if (type === "VariableShowStmt") return "SHOW reveals server settings";
  if (type === "DoStmt") return "DO runs procedural code";
  if (type === "CallStmt") return "CALL runs a procedure";
  if (/^(Prepare|Execute|Deallocate)Stmt$/.test(type)) return "prepared statements run SQL the guard cannot see";
  if (/^(Listen|Notify|Unlisten)Stmt$/.test(type)) return "it talks to other sessions";
  if (type === "TransactionStmt") return "transaction control belongs to the executor";
  if (type === "ExplainStmt") return "EXPLAIN is not available (EXPLAIN ANALYZE would execute the statement)";
  if (/^(Create|Alter|Drop|Grant|Revoke|Rename|Comment|Truncate|Index|View|Rule|Reindex|Cluster|Vacuum|Refresh|Lock|SecLabel|Reassign|ImportForeign|CompositeType|Define)/.test(type)) {
    return "it changes the database or its schema";
  }
  return "utility statements are not available";
}

const LOCK_STRENGTH: Record<string, string> = {
  LCS_FORUPDATE: "FOR UPDATE",
  LCS_FORNOKEYUPDATE: "FOR NO KEY UPDATE",
  LCS_FORSHARE: "FOR SHARE",
  LCS_FORKEYSHARE: "FOR KEY SHARE",
};

/** CURRENT_DATE & co. are fine; the user/catalog/schema forms describe the server. */
const ALLOWED_SQL_VALUE_FUNCTIONS = new Set([
  "SVFOP_CURRENT_DATE", "SVFOP_CURRENT_TIME", "SVFOP_CURRENT_TIME_N", "SVFOP_CURRENT_TIMESTAMP",
  "SVFOP_CURRENT_TIMESTAMP_N", "SVFOP_LOCALTIME", "SVFOP_LOCALTIME_N", "SVFOP_LOCALTIMESTAMP", "SVFOP_LOCALTIMESTAMP_N",
]);

/** Built-in sampling methods; extension methods (system_time...) are refused. */
const ALLOWED_TABLESAMPLE_METHODS = new Set(["system", "bernoulli"]);

/** Types that resolve names against the system catalogs when a value is cast to them. */
const CATALOG_LOOKUP_TYPE = /^reg(class|collation|config|dictionary|namespace|oper|operator|proc|procedure|role|type)$/;

/** Schemas user SQL never reads: the catalogs (schema browsing has its own endpoint). */
const isSystemSchema = (schema: string) => schema === "information_schema" || schema.startsWith("pg_");

/**
 * Node types that may appear in an accepted SELECT and need no check of their own
 * beyond walking their children. Types with checks are handled in `node()`.
 */
const PLAIN_NODES = new Set([
  "ResTarget", "ColumnRef", "A_Star", "A_Const", "String", "Integer", "Float", "Boolean", "BitString",
  "BoolExpr", "TypeCast", "CollateClause", "RangeSubselect", "RangeFunction", "JoinExpr",
  "Alias", "CTESearchClause", "CTECycleClause", "WindowDef", "GroupingSet", "GroupingFunc",
  "CaseExpr", "CaseWhen", "CoalesceExpr", "MinMaxExpr", "NullTest", "BooleanTest", "RowExpr",
  "A_ArrayExpr", "A_Indirection", "A_Indices", "List", "NamedArgExpr", "ColumnDef",
  "JsonTable", "JsonTableColumn", "JsonTablePathSpec", "JsonValueExpr", "JsonFormat", "JsonOutput",
  "JsonReturning", "JsonBehavior", "JsonFuncExpr", "JsonArgument", "JsonKeyValue", "JsonObjectConstructor",
  "JsonArrayConstructor", "JsonArrayQueryConstructor", "JsonAggConstructor", "JsonObjectAgg", "JsonArrayAgg",
  "JsonIsPredicate", "JsonParseExpr", "JsonScalarExpr", "JsonSerializeExpr",
]);

/**
 * Fields that hold a struct inline (not wrapped as `{ Type: {...} }`), by parent type, as
 * @pgsql/types declares them, so that an inline TypeName or RangeVar gets its check.
 * Listed: every such field a SELECT can contain, plus the targets of refused DML (for
 * the tables list). Any other inline struct (A_Const values...) is walked generically.
 */
const INLINE_TYPES: Record<string, string> = {
  "SelectStmt.larg": "SelectStmt",
  "SelectStmt.rarg": "SelectStmt",
  "SelectStmt.withClause": "WithClause",
  "SelectStmt.intoClause": "IntoClause",
  "TypeCast.typeName": "TypeName",
  "ColumnDef.typeName": "TypeName",
  "JsonOutput.typeName": "TypeName",
  "JsonTableColumn.typeName": "TypeName",
  "XmlSerialize.typeName": "TypeName",
  "RangeTableFuncCol.typeName": "TypeName",
  "FuncCall.over": "WindowDef",
  "JsonAggConstructor.over": "WindowDef",
  "RangeVar.alias": "Alias",
  "JoinExpr.alias": "Alias",
  "JoinExpr.join_using_alias": "Alias",
  "RangeSubselect.alias": "Alias",
  "RangeFunction.alias": "Alias",
  "RangeTableFunc.alias": "Alias",
  "JsonTable.alias": "Alias",
  "ColumnDef.collClause": "CollateClause",
  "CommonTableExpr.search_clause": "CTESearchClause",
  "CommonTableExpr.cycle_clause": "CTECycleClause",
  "JsonReturning.format": "JsonFormat",
  "JsonValueExpr.format": "JsonFormat",
  "JsonIsPredicate.format": "JsonFormat",
  "JsonArrayQueryConstructor.format": "JsonFormat",
  "JsonTableColumn.format": "JsonFormat",
  "JsonOutput.returning": "JsonReturning",
  "JsonArgument.val": "JsonValueExpr",
  "JsonFuncExpr.context_item": "JsonValueExpr",
  "JsonTable.context_item": "JsonValueExpr",
  "JsonKeyValue.value": "JsonValueExpr",
  "JsonParseExpr.expr": "JsonValueExpr",
  "JsonSerializeExpr.expr": "JsonValueExpr",
  "JsonArrayAgg.arg": "JsonValueExpr",
  "JsonFuncExpr.output": "JsonOutput",
  "JsonParseExpr.output": "JsonOutput",
  "JsonScalarExpr.output": "JsonOutput",
  "JsonSerializeExpr.output": "JsonOutput",
  "JsonObjectConstructor.output": "JsonOutput",
  "JsonArrayConstructor.output": "JsonOutput",
  "JsonArrayQueryConstructor.output": "JsonOutput",
  "JsonAggConstructor.output": "JsonOutput",
  "JsonFuncExpr.on_empty": "JsonBehavior",
  "JsonFuncExpr.on_error": "JsonBehavior",
  "JsonTable.on_error": "JsonBehavior",
  "JsonTableColumn.on_empty": "JsonBehavior",
  "JsonTableColumn.on_error": "JsonBehavior",
  "JsonTable.pathspec": "JsonTablePathSpec",
  "JsonTableColumn.pathspec": "JsonTablePathSpec",
  "JsonObjectAgg.constructor": "JsonAggConstructor",
  "JsonArrayAgg.constructor": "JsonAggConstructor",
  "JsonObjectAgg.arg": "JsonKeyValue",
  "InsertStmt.withClause": "WithClause",
  "UpdateStmt.withClause": "WithClause",
  "DeleteStmt.withClause": "WithClause",
  "MergeStmt.withClause": "WithClause",
  "InsertStmt.relation": "RangeVar",
  "UpdateStmt.relation": "RangeVar",
  "DeleteStmt.relation": "RangeVar",
  "MergeStmt.relation": "RangeVar",
  "CopyStmt.relation": "RangeVar",
};

/** INLINE_TYPES as parent -> field -> type, so the hot path builds no strings. */
const INLINE_BY_PARENT = new Map<string, Map<string, string>>();
for (const [path, type] of Object.entries(INLINE_TYPES)) {
  const [parent, field] = path.split(".");
  if (!INLINE_BY_PARENT.has(parent)) INLINE_BY_PARENT.set(parent, new Map());
  INLINE_BY_PARENT.get(parent)!.set(field, type);
}
/** Parent type given to the fields of an inline struct no table above describes. */
const UNKNOWN_INLINE = "(inline)";
const isUpper = (c: number) => c >= 65 && c <= 90;

/** CTE names visible at a point of the tree; an inner WITH links to the outer one. */
class Scope {
  constructor(private readonly names: ReadonlySet<string>, private readonly parent: Scope | null) {}
  has(name: string): boolean {
    return this.names.has(name) || (this.parent?.has(name) ?? false);
  }
  with(names: Iterable<string>): Scope {
    return new Scope(new Set(names), this);
  }
}
const ROOT = new Scope(new Set(), null);

const stringsOf = (list: unknown): string[] =>
  Array.isArray(list) ? list.map((n) => ((n as Json)?.String as Json | undefined)?.sval).filter((s): s is string => typeof s === "string") : [];

/** One check of one statement text: collects errors and tables while walking. */
class Inspection {
  readonly errors = new Set<string>();
  readonly tables = new Set<string>();
  /** > 0 while walking a statement that is refused as a whole: tables still count, details don't. */
  private quiet = 0;

  constructor(private readonly policy: GuardPolicy) {}

  refuse(reason: string): void {
    if (this.quiet === 0) this.errors.add(reason);
  }

  /**
   * Walks a statement already refused as a whole, only to learn the tables it names
   * (its WITH still scopes its CTE names).
   */
  walkQuietly(type: string, body: Json, scope: Scope): void {
    this.quiet++;
    try {
      if (type === "SelectStmt") return this.select(body, scope);
      const inner = body.withClause && typeof body.withClause === "object" ? this.withClause(body.withClause as Json, scope) : scope;
      this.children(body, type, inner, SKIP_WITH);
    } finally {
      this.quiet--;
    }
  }

  visit(value: unknown, parentType: string, field: string, scope: Scope): void {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const item of value) this.visit(item, parentType, field, scope);
      return;
    }
    const obj = value as Json;
    // A wrapped node is `{ TypeName: {...} }`: node types start upper-case, fields never
    // do. (for-in rather than Object.keys: this runs for every object of the tree.)
    let first: string | undefined;
    let count = 0;
    for (const key in obj) {
      if (count++ === 0) first = key;
      else break;
    }
    if (count === 1 && isUpper(first!.charCodeAt(0))) {
      const inner = obj[first!];
      this.node(first!, inner !== null && typeof inner === "object" ? (inner as Json) : {}, scope);
      return;
    }
    const inline = INLINE_BY_PARENT.get(parentType)?.get(field);
    if (inline) this.node(inline, obj, scope);
    else this.children(obj, UNKNOWN_INLINE, scope);
  }

  children(body: Json, type: string, scope: Scope, skip?: ReadonlySet<string>): void {
    for (const key in body) {
      if (skip?.has(key)) continue;
      this.visit(body[key], type, key, scope);
    }
  }

  node(type: string, body: Json, scope: Scope): void {
    switch (type) {
      case "SelectStmt":
        return this.select(body, scope);
      case "RangeVar":
        return this.relation(body, scope);
      case "FuncCall":
        this.functionCall(body);
        return this.children(body, type, scope, SKIP_FUNCNAME);
      case "TypeName":
        this.typeName(body);
        return this.children(body, type, scope, SKIP_NAMES);
      // Operators can be schema-qualified with OPERATOR(schema.op) in expressions, in
      // `x op ANY (subquery)` and in ORDER BY ... USING; a user-defined one runs any function.
      case "A_Expr":
        this.operator(body.name);
        return this.children(body, type, scope, SKIP_NAME);
      case "SubLink":
        this.operator(body.operName);
        return this.children(body, type, scope);
      case "SortBy":
        this.operator(body.useOp);
        return this.children(body, type, scope);
      case "SQLValueFunction":
        if (!ALLOWED_SQL_VALUE_FUNCTIONS.has(String(body.op))) {
          const what = String(body.op).replace(/^SVFOP_/, "").toLowerCase();
          this.refuse(`function ${what} is not allowed: it reveals details of the server or session`);
        }
        return;
      case "RangeTableSample": {
        const method = stringsOf(body.method).join(".");
        if (!ALLOWED_TABLESAMPLE_METHODS.has(method)) this.refuse(`TABLESAMPLE method ${method} is not allowed (use SYSTEM or BERNOULLI)`);
        return this.children(body, type, scope, SKIP_METHOD);
      }
      case "ParamRef":
        return this.refuse(`parameter placeholders ($${body.number ?? "n"}) are not supported: write the values into the query`);
      case "XmlExpr":
      case "XmlSerialize":
      case "RangeTableFunc":
        this.refuse("XML functions and XMLTABLE are not allowed");
        return this.children(body, type, scope);
      case "IntoClause":
        return this.refuse("SELECT INTO is not allowed: it creates a table");
      case "LockingClause":
        return this.refuse(`locking clause ${LOCK_STRENGTH[String(body.strength)] ?? "FOR UPDATE/SHARE"} is not allowed: queries only read`);
      case "WithClause":
        // SELECT and refused statements scope their own WITH; a stray one is still walked.
        this.withClause(body, scope);
        return;
      case "CommonTableExpr":
        return this.commonTableExpr(body, scope);
      default:
        if (PLAIN_NODES.has(type)) return this.children(body, type, scope);
        if (type.endsWith("Stmt")) {
          this.refuse(`${type} is not allowed inside a query: ${statementHint(type)}`);
          return this.walkQuietly(type, body, scope);
        }
        this.refuse(`unsupported construct ${type}: only plain SELECT queries are accepted`);
        return this.children(body, type, scope);
    }
  }

  private select(body: Json, scope: Scope): void {
    if (body.intoClause) this.refuse("SELECT INTO is not allowed: it creates a table");
    if (Array.isArray(body.lockingClause)) {
      // lockedRels name FROM items already walked; only the clause itself matters.
      for (const lc of body.lockingClause) {
        const strength = ((lc as Json).LockingClause as Json | undefined)?.strength;
        this.refuse(`locking clause ${LOCK_STRENGTH[String(strength)] ?? "FOR UPDATE/SHARE"} is not allowed: queries only read`);
      }
    }
    const inner = body.withClause ? this.withClause(body.withClause as Json, scope) : scope;
    this.children(body, "SelectStmt", inner, SKIP_SELECT);
  }

  /**
   * Walks the CTE bodies in the scope PostgreSQL gives them and returns the scope of the
   * statement the WITH belongs to. Without RECURSIVE a CTE sees only the ones before it
   * (so `WITH orders AS (SELECT * FROM orders)` reads the real table); with RECURSIVE
   * every CTE of the list is visible in every body.
   */
  private withClause(body: Json, scope: Scope): Scope {
    const ctes = (Array.isArray(body.ctes) ? body.ctes : []).map((c) => ((c as Json).CommonTableExpr ?? {}) as Json);
    const names = ctes.map((c) => String(c.ctename));
    const all = scope.with(names);
    ctes.forEach((cte, i) => this.commonTableExpr(cte, body.recursive ? all : scope.with(names.slice(0, i))));
    return all;
  }

  private commonTableExpr(cte: Json, scope: Scope): void {
    const query = (cte.ctequery ?? {}) as Json;
    const [type] = Object.keys(query);
    if (type && type !== "SelectStmt") {
      this.refuse(`data-modifying statement in WITH ${String(cte.ctename)} is not allowed (got ${type})`);
      this.walkQuietly(type, (query[type] ?? {}) as Json, scope);
    } else if (type) {
      this.select(query[type] as Json, scope);
    }
    this.children(cte, "CommonTableExpr", scope, SKIP_CTEQUERY);
  }

  private relation(rv: Json, scope: Scope): void {
    const rel = String(rv.relname ?? "");
    const schema = typeof rv.schemaname === "string" ? rv.schemaname : null;
    if (typeof rv.catalogname === "string") {
      this.refuse(`cross-database reference ${rv.catalogname}.${schema}.${rel} is not allowed`);
      return;
    }
    // An unqualified name that matches a CTE in scope is that CTE, not a table.
    if (schema === null && scope.has(rel)) return;
    const effectiveSchema = schema ?? "public";
    const name = effectiveSchema === "public" ? rel : `${effectiveSchema}.${rel}`;
    this.tables.add(name);
    if (rel.includes(".") || effectiveSchema.includes(".")) {
      this.refuse(`table name "${name}" is not supported: identifiers containing a dot are ambiguous`);
    } else if (isSystemSchema(effectiveSchema) || (schema === null && rel.startsWith("pg_"))) {
      this.refuse(`system catalog ${name} is not allowed: browse tables with the schema endpoints instead`);
    } else if (this.policy.allowedTables && !this.policy.allowedTables.has(name) && !(effectiveSchema === "public" && this.policy.allowedTables.has(`public.${rel}`))) {
      this.refuse(`table ${name} is not covered by your grants`);
    }
    if (rv.alias) this.visit(rv.alias, "RangeVar", "alias", scope);
  }

  private functionCall(call: Json): void {
    const parts = stringsOf(call.funcname);
    if (parts.length === 0) return this.refuse("function call without a name is not supported");
    const name = parts[parts.length - 1];
    if (parts.length > 2) return this.refuse(`function ${parts.join(".")} is not allowed: cross-database references are not supported`);
    if (parts.length === 2 && parts[0] !== "pg_catalog") {
      return this.refuse(`function ${parts.join(".")} is not allowed: only built-in functions (unqualified or in pg_catalog) may be called`);
    }
    const why = functionRefusal(name);
    if (why) this.refuse(`function ${parts.join(".")} is not allowed: ${why}`);
  }

  private operator(nameList: unknown): void {
    const name = stringsOf(nameList);
    if (name.length > 1 && name[0] !== "pg_catalog") this.refuse(`operator ${name.join(".")} is not allowed: only built-in operators may be used`);
  }

  private typeName(tn: Json): void {
    const parts = stringsOf(tn.names);
    const name = parts[parts.length - 1] ?? "";
    if (parts.length > 1 && parts[0] !== "pg_catalog") {
      this.refuse(`type ${parts.join(".")} is not allowed: only built-in types may be used`);
    } else if (CATALOG_LOOKUP_TYPE.test(name)) {
      this.refuse(`cast to ${name} is not allowed: it looks objects up in the system catalogs`);
    } else if (name === "xml") {
      this.refuse("type xml is not allowed: XML processing is not available to queries");
    } else if (name.startsWith("pg_") || name.startsWith("txid_")) {
      this.refuse(`type ${name} is not allowed: it exposes server internals`);
    }
  }
}

const SKIP_FUNCNAME = new Set(["funcname"]);
const SKIP_NAMES = new Set(["names"]);
const SKIP_NAME = new Set(["name"]);
const SKIP_METHOD = new Set(["method"]);
const SKIP_CTEQUERY = new Set(["ctequery", "ctename"]);
const SKIP_SELECT = new Set(["withClause", "intoClause", "lockingClause"]);
const SKIP_WITH = new Set(["withClause"]);

const TOO_DEEP = "the query is nested too deeply to check";

function verdict(valid: boolean, statementType: string | null, tables: string[], errors: string[]): GuardVerdict {
  return { valid, statement_type: statementType, tables, errors };
}

/** Checks one SQL text against the policy. Synchronous; `loadGuard()` must have resolved. */
export function checkSql(sql: string, policy: GuardPolicy): GuardVerdict {
  if (!loaded) throw new Error("SQL guard used before loadGuard() resolved");
  if (typeof sql !== "string" || sql.trim() === "") return verdict(false, null, [], ["the query is empty"]);
  if (sql.length > MAX_SQL_LENGTH) return verdict(false, null, [], [`the query is too long (${sql.length} characters, at most ${MAX_SQL_LENGTH})`]);

  let stmts: Array<{ stmt?: Json }>;
  try {
    stmts = (parseSync(sql).stmts ?? []) as Array<{ stmt?: Json }>;
  } catch (err) {
    // The WASM parser's result is decoded with JSON.parse, which runs out of stack first on absurd nesting.
    if (err instanceof RangeError) return verdict(false, null, [], [TOO_DEEP]);
    return verdict(false, null, [], [err instanceof Error ? err.message : String(err)]);
  }
  if (stmts.length === 0) return verdict(false, null, [], ["no SQL statement found (only comments or semicolons)"]);

  const inspection = new Inspection(policy);
  let statementType: string | null = null;
  try {
    if (stmts.length > 1) inspection.refuse(`exactly one statement is allowed (got ${stmts.length}): remove the extra statements after the semicolon`);
    stmts.forEach((raw, i) => {
      const node = raw.stmt ?? {};
      const [type = "unknown"] = Object.keys(node);
      const body = (node[type] ?? {}) as Json;
      const prefix = stmts.length > 1 ? `statement ${i + 1}: ` : "";
      if (type === "SelectStmt") {
        inspection.node(type, body, ROOT);
        return;
      }
      statementType ??= type;
      inspection.refuse(`${prefix}only SELECT statements are allowed (got ${type}): ${statementHint(type)}`);
      inspection.walkQuietly(type, body, ROOT);
    });
  } catch (err) {
    // A tree deep enough to exhaust the stack is refused rather than half-checked.
    if (err instanceof RangeError) return verdict(false, statementType ?? "SELECT", [...inspection.tables], [TOO_DEEP]);
    throw err;
  }
  const errors = [...inspection.errors];
  return verdict(errors.length === 0, statementType ?? "SELECT", [...inspection.tables].sort(), errors);
}
