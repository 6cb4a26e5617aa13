import { describe, expect, test } from "bun:test";
import { formatSummary, summarize } from "../../scripts/junit-summary";

/** Shaped like `bun test --reporter=junit` output (bun 1.4.5): describe blocks become nested testsuites. */
const BUN_REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="7" assertions="2" failures="2" skipped="2" time="0.029">
  <testsuite name="/tmp/a.test.ts" file="/tmp/a.test.ts" tests="7" failures="2" skipped="2" time="0.009" hostname="vm">
    <testsuite name="outer &lt;&amp;&gt; &quot;q&quot;" file="/tmp/a.test.ts" line="2" tests="5" hostname="vm">
      <testsuite name="inner" file="/tmp/a.test.ts" line="3" tests="4" hostname="vm">
        <testcase name="passes &amp; ok" classname="inner &gt; outer &lt;&amp;&gt; &quot;q&quot;" time="0.0001" line="4" assertions="1" />
        <testcase name="fails" classname="inner &gt; outer &lt;&amp;&gt; &quot;q&quot;" time="0.0004" line="5" assertions="1">
          <failure type="AssertionError" message="expect(received).toBe(expected)&#10;&#10;Expected: 2&#10;Received: 1&#10;">AssertionError: expect(received).toBe(expected)&#10;&#10;Expected: 2 &gt; 1&#10;</failure>
        </testcase>
        <testcase name="skipped" classname="inner" time="0" line="6" assertions="0">
          <skipped />
        </testcase>
        <testcase name="todo one" classname="inner" time="0" line="7" assertions="0">
          <skipped message="TODO" />
        </testcase>
      </testsuite>
      <testcase name="outer pass" classname="outer" time="0.000006" line="9" assertions="0" />
    </testsuite>
    <testcase name="top level" classname="" time="0.000003" line="11" assertions="0"/>
    <testcase name="throws" classname="" time="0.0002" line="12" assertions="0">
      <failure type="Error" message="boom &lt;x&gt;">Error: boom &lt;x&gt;&#10;</failure>
    </testcase>
  </testsuite>
</testsuites>`;

describe("summarize", () => {
  test("given bun's nested testsuites with a failure, skips and todos, when summarized, then every testcase at any depth is counted", () => {
    const summary = summarize(BUN_REPORT);

    expect(summary).toMatchObject({ passed: 3, failed: 2, skipped: 2 });
  });

  test("given names with XML entities, when a testcase fails, then its name is decoded", () => {
    const { failedNames } = summarize(BUN_REPORT);

    expect(failedNames).toEqual(['inner > outer <&> "q" > fails', "throws"]);
  });

  test("given a testcase with an <error> child, when summarized, then it counts as failed", () => {
    const xml = `<testsuite name="s"><testcase name="a"><error message="crash"/></testcase><testcase name="b"/></testsuite>`;

    expect(summarize(xml)).toMatchObject({ passed: 1, failed: 1, skipped: 0 });
  });

  test("given self-closing testcases spread over attributes on several lines, when summarized, then each counts once as passed", () => {
    const xml = `<testsuites>\n<testsuite name='single quoted'>\n<testcase\n  name="a"\n  time="0"/>\n<testcase name="b" />\n</testsuite>\n</testsuites>\n`;

    expect(summarize(xml)).toMatchObject({ passed: 2, failed: 0, skipped: 0 });
  });

  test("given a testcase with both skipped and failure children, when summarized, then the failure wins", () => {
    const xml = `<testsuites><testsuite><testcase name="x"><skipped/><failure/></testcase></testsuite></testsuites>`;

    expect(summarize(xml)).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
  });

  test("given comments, CDATA and system-out around the testcases, when summarized, then only testcases are counted", () => {
    const xml = `<?xml version="1.0"?>
<!-- <testcase name="commented out"/> -->
<testsuites><testsuite>
  <testcase name="a"><system-out><![CDATA[<testcase name="not real"/> & <failure/>]]></system-out></testcase>
</testsuite></testsuites>`;

    expect(summarize(xml)).toMatchObject({ passed: 1, failed: 0, skipped: 0 });
  });

  test("given a report without testcases, when summarized, then all counts are zero", () => {
    expect(summarize(`<testsuites name="bun test" tests="0"></testsuites>`)).toMatchObject({ passed: 0, failed: 0, skipped: 0 });
  });

  test.each([
    ["an empty file", ""],
    ["a truncated report", `<testsuites><testsuite name="s"><testcase name="a"/>`],
    ["mismatched tags", `<testsuites><testsuite></testsuites></testsuite>`],
    ["an unknown entity", `<testsuites><testsuite name="&bogus;"/></testsuites>`],
    ["a root that is not a test report", `<html><body/></html>`],
    ["plain text", `Segmentation fault`],
  ])("given %s, when summarized, then it throws", (_, xml) => {
    expect(() => summarize(xml)).toThrow();
  });
});

describe("formatSummary", () => {
  test("given no skipped tests, when formatted, then the skipped count is left out", () => {
    expect(formatSummary({ passed: 4, failed: 0, skipped: 0 })).toBe("4 passed, 0 failed");
  });

  test("given skipped tests, when formatted, then the skipped count is appended", () => {
    expect(formatSummary({ passed: 3, failed: 2, skipped: 2 })).toBe("3 passed, 2 failed, 2 skipped");
  });
});
