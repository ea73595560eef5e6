// Reads a JSON list of archive files on stdin, parses each with Hexo's own front-matter parser, and prints the
// parsed title, author and categories as a JSON list, so the tests can compare them with what we meant to write.
const fm = require('hexo-front-matter');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => {
    try {
      const parsed = fm.parse(text);
      return { ok: true, title: parsed.title, author: parsed.author ?? null, categories: parsed.categories ?? null,
               content: parsed._content };
    } catch (err) {
      return { ok: false, error: String(err) };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
