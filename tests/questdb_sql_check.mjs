// Parses SQL statements with QuestDB's own parser (@questdb/sql-parser).
// stdin: JSON array of {"name": ..., "sql": ...}; stdout: JSON array of
// {"name": ..., "ok": bool, "errors": [message, ...]}, one entry per statement, same order.
import { parseToAst } from "@questdb/sql-parser";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const statements = JSON.parse(input);
  const results = statements.map(({ name, sql }) => {
    try {
      const parsed = parseToAst(sql);
      const errors = (parsed.errors || []).map((e) => String(e.message || e));
      if (!errors.length && (!parsed.ast || parsed.ast.length !== 1)) {
        errors.push(`expected one statement, got ${parsed.ast ? parsed.ast.length : 0}`);
      }
      return { name, ok: errors.length === 0, errors };
    } catch (exc) {
      return { name, ok: false, errors: [String(exc)] };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
