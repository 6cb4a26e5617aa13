/**
 * Closing line for CI from a JUnit XML report (as written by `bun test --reporter=junit`).
 *
 *   npx bun scripts/junit-summary.ts <junit.xml> [runner-exit-code]
 *
 * Prints exactly one line to stdout: `N passed, N failed` (plus `, N skipped` when N > 0).
 * Exit status is 0 only when the report parsed, holds at least one testcase and nothing failed.
 * A missing or unparsable report prints `0 passed, 1 failed` and exits 1.
 *
 * bun leaves some failures out of the report (a test file that throws while loading, for
 * one), so when the runner's exit code is given and is non-zero while the report shows no
 * failure, that run-level failure is counted as one failed.
 */
import { readFileSync } from "node:fs";

export interface JUnitSummary {
  /** Testcases without a <failure>, <error> or <skipped> child. */
  passed: number;
  /** Testcases with a <failure> or <error> child. */
  failed: number;
  /** Testcases with a <skipped> child (bun also reports test.todo this way) and no failure. */
  skipped: number;
  /** Names (entities decoded) of the failed testcases, `classname > name` when there is a classname. */
  failedNames: string[];
}

export class JUnitParseError extends Error {
  override name = "JUnitParseError";
}

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the five predefined XML entities and numeric character references. */
export function decodeEntities(text: string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, body: string) => {
    if (!whole.endsWith(";")) throw new JUnitParseError(`bare '&' in ${JSON.stringify(text)}`);
    if (body in NAMED_ENTITIES) return NAMED_ENTITIES[body];
    const numeric = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
    if (numeric) {
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : parseInt(numeric[2], 10);
      if (code > 0x10ffff) throw new JUnitParseError(`invalid character reference &${body};`);
      return String.fromCodePoint(code);
    }
    throw new JUnitParseError(`unknown entity &${body};`);
  });
}

const NAME = /[A-Za-z_:][\w:.\-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_:][\w:.\-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /\s*(\/?)>/y;

interface Element {
  name: string;
  attributes: Record<string, string>;
  children: Element[];
}

/** A small non-validating XML parser: elements and attributes only; text, comments, CDATA, PIs and DOCTYPE are skipped. */
function parseXml(xml: string): Element {
  const root: Element = { name: "#document", attributes: {}, children: [] };
  const stack: Element[] = [root];
  let i = 0;
  const skipPast = (terminator: string, what: string) => {
    const end = xml.indexOf(terminator, i);
    if (end < 0) throw new JUnitParseError(`unterminated ${what}`);
    i = end + terminator.length;
  };
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (stack.length === 1 && text.trim() !== "") throw new JUnitParseError("text outside the root element");
    decodeEntities(text); // validates entities in text content
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith("<!--", i)) skipPast("-->", "comment");
    else if (xml.startsWith("<![CDATA[", i)) skipPast("]]>", "CDATA section");
    else if (xml.startsWith("<?", i)) skipPast("?>", "processing instruction");
    else if (xml.startsWith("<!", i)) skipPast(">", "declaration");
    else if (xml.startsWith("</", i)) {
      NAME.lastIndex = i + 2;
      const name = NAME.exec(xml)?.[0];
      const close = /\s*>/y;
      close.lastIndex = i + 2 + (name?.length ?? 0);
      if (!name || !close.exec(xml)) throw new JUnitParseError(`malformed end tag at offset ${i}`);
      const open = stack.pop()!;
      if (open.name !== name) throw new JUnitParseError(`</${name}> closes <${open.name}> at offset ${i}`);
      i = close.lastIndex;
    } else {
      NAME.lastIndex = i + 1;
      const name = NAME.exec(xml)?.[0];
      if (!name) throw new JUnitParseError(`malformed tag at offset ${i}`);
      let at = i + 1 + name.length;
      const element: Element = { name, attributes: {}, children: [] };
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const attr = ATTRIBUTE.exec(xml);
        if (!attr) break;
        element.attributes[attr[1]] = decodeEntities(attr[2] ?? attr[3]);
        at = ATTRIBUTE.lastIndex;
      }
      TAG_END.lastIndex = at;
      const end = TAG_END.exec(xml);
      if (!end) throw new JUnitParseError(`malformed <${name}> tag at offset ${i}`);
      if (stack.length === 1 && root.children.length > 0) throw new JUnitParseError("more than one root element");
      stack[stack.length - 1].children.push(element);
      if (end[1] !== "/") stack.push(element);
      i = TAG_END.lastIndex;
    }
  }
  if (stack.length > 1) throw new JUnitParseError(`<${stack[stack.length - 1].name}> is never closed`);
  if (root.children.length === 0) throw new JUnitParseError("no root element");
  return root.children[0];
}

/** Counts the testcases of a JUnit report, at any depth of nested <testsuite> elements. */
export function summarize(xml: string): JUnitSummary {
  const top = parseXml(xml);
  if (top.name !== "testsuites" && top.name !== "testsuite") {
    throw new JUnitParseError(`root element is <${top.name}>, not <testsuites> or <testsuite>`);
  }
  const summary: JUnitSummary = { passed: 0, failed: 0, skipped: 0, failedNames: [] };
  const visit = (element: Element) => {
    if (element.name === "testcase") {
      const kinds = new Set(element.children.map((child) => child.name));
      if (kinds.has("failure") || kinds.has("error")) {
        summary.failed++;
        const { classname, name = "(unnamed)" } = element.attributes;
        summary.failedNames.push(classname ? `${classname} > ${name}` : name);
      } else if (kinds.has("skipped")) summary.skipped++;
      else summary.passed++;
      return;
    }
    element.children.forEach(visit);
  };
  visit(top);
  return summary;
}

export function total(summary: Pick<JUnitSummary, "passed" | "failed" | "skipped">): number {
  return summary.passed + summary.failed + summary.skipped;
}

export function formatSummary({ passed, failed, skipped }: Pick<JUnitSummary, "passed" | "failed" | "skipped">): string {
  return `${passed} passed, ${failed} failed` + (skipped > 0 ? `, ${skipped} skipped` : "");
}

if (import.meta.main) {
  const [file, runnerExit] = process.argv.slice(2);
  let summary: JUnitSummary;
  try {
    if (!file) throw new Error("usage: junit-summary.ts <junit.xml> [runner-exit-code]");
    summary = summarize(readFileSync(file, "utf8"));
  } catch (error) {
    console.error(`junit-summary: cannot read a JUnit report from ${file ?? "(no file given)"}: ${(error as Error).message}`);
    console.log(formatSummary({ passed: 0, failed: 1, skipped: 0 }));
    process.exit(1);
  }
  if (runnerExit !== undefined && runnerExit !== "0" && summary.failed === 0) {
    console.error(`junit-summary: the test runner exited ${runnerExit} but the report records no failed test; counting 1 failure`);
    summary.failed = 1;
  }
  if (total(summary) === 0) console.error("junit-summary: the report holds no testcase");
  console.log(formatSummary(summary));
  process.exit(summary.failed > 0 || total(summary) === 0 ? 1 : 0);
}
