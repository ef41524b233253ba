import { strict as assert } from 'assert';
import { escapeLatex, tableToLatex } from '../../src/report/latex';
import { TableData } from '../../src/report/table';

const tiny: TableData = {
  columns: ['method', 'acc', 'n'],
  rows: [
    ['ArcFace', 0.91234, 3],
    ['CoReFace', 0.925, 5],
  ],
};

describe('report: LaTeX (booktabs) tables', () => {
  it('renders a tiny table exactly: float, centering, l/r alignment, rules, caption and label', () => {
    const tex = tableToLatex(tiny, { caption: 'Verification accuracy, mean $\\pm$ std.', label: 'tab:acc' });
    assert.equal(
      tex,
      [
        '\\begin{table}',
        '\\centering',
        '\\begin{tabular}{l r r}',
        '\\toprule',
        'method & acc & n \\\\',
        '\\midrule',
        'ArcFace & 0.9123 & 3 \\\\',
        'CoReFace & 0.9250 & 5 \\\\',
        '\\bottomrule',
        '\\end{tabular}',
        '\\caption{Verification accuracy, mean $\\pm$ std.}',
        '\\label{tab:acc}',
        '\\end{table}',
        '',
      ].join('\n'),
    );
  });

  it('floating: false emits only the tabular; digits and columnDigits format the numbers', () => {
    assert.equal(
      tableToLatex(tiny, { floating: false, digits: 2 }),
      '\\begin{tabular}{l r r}\n\\toprule\nmethod & acc & n \\\\\n\\midrule\nArcFace & 0.91 & 3 \\\\\nCoReFace & 0.93 & 5 \\\\\n\\bottomrule\n\\end{tabular}\n',
    );
    assert.match(tableToLatex(tiny, { floating: false, columnDigits: { acc: 1 } }), /^ArcFace & 0\.9 & 3 \\\\$/m);
    // Without caption and label the float has neither line.
    assert.equal(tableToLatex(tiny).split('\n').filter((l) => l.startsWith('\\caption') || l.startsWith('\\label')).length, 0);
  });

  it('escapes LaTeX specials in cells and headers, and turns ± into $\\pm$', () => {
    const t: TableData = {
      columns: ['run_id', '100% & more', 'acc ± std'],
      rows: [['a#1 {x} ~y^2 $5 \\z', 'TAR@FAR<1e-3 | 2', '90.12 ± 0.34']],
    };
    const tex = tableToLatex(t, { floating: false });
    assert.equal(
      tex.split('\n').slice(2, 5).join('\n'),
      [
        'run\\_id & 100\\% \\& more & acc $\\pm$ std \\\\',
        '\\midrule',
        'a\\#1 \\{x\\} \\textasciitilde{}y\\textasciicircum{}2 \\$5 \\textbackslash{}z & TAR@FAR\\textless{}1e-3 \\textbar{} 2 & 90.12 $\\pm$ 0.34 \\\\',
      ].join('\n'),
    );
    assert.equal(escapeLatex('Δ acc (pts): −0.50 × 2, ≤ 1… \n next'), '$\\Delta$ acc (pts): $-$0.50 $\\times$ 2, $\\leq$ 1\\ldots{}   next');
    assert.equal(escapeLatex('plain text 0.95'), 'plain text 0.95');
  });

  it('aligns numeric columns right (empty cells allowed) and string columns left; align overrides', () => {
    const t: TableData = { columns: ['variant', 'p', 'note', 'flag'], rows: [['a', 0.01, 'x', true], ['b', null, 'y', false]] };
    assert.match(tableToLatex(t), /\\begin\{tabular\}\{l r l l\}/);
    assert.match(tableToLatex(t, { align: 'lccr' }), /\\begin\{tabular\}\{l c c r\}/);
    assert.match(tableToLatex(t, { align: ['c', 'c', 'l', 'l'] }), /\\begin\{tabular\}\{c c l l\}/);
    // Empty and NaN cells are empty; booleans print as words; infinities as math.
    const cells = tableToLatex({ columns: ['x', 'y'], rows: [[null, NaN], [Infinity, -Infinity]] }, { floating: false });
    assert.match(cells, /^ & {2}\\\\$/m);
    assert.match(cells, /^\$\\infty\$ & \$-\\infty\$ \\\\$/m);
    assert.match(tableToLatex(t, { floating: false }), /^a & 0\.0100 & x & true \\\\$/m);
  });

  it('accepts a DataFrame-like { columns, values } and a table without rows', () => {
    const tex = tableToLatex({ columns: ['k', 'v'], values: [['a', 1.5], ['b', 2]] }, { floating: false });
    assert.match(tex, /\\begin\{tabular\}\{l r\}/);
    assert.match(tex, /^a & 1\.5000 \\\\$/m);
    assert.equal(
      tableToLatex({ columns: ['k'], rows: [] }, { floating: false }),
      '\\begin{tabular}{l}\n\\toprule\nk \\\\\n\\midrule\n\\bottomrule\n\\end{tabular}\n',
    );
  });

  it('throws clear errors', () => {
    assert.throws(() => tableToLatex(tiny, { align: 'lr' }), { message: 'tableToLatex: align has 2 entries for 3 columns' });
    assert.throws(() => tableToLatex(tiny, { align: 'l|r' }), { message: 'tableToLatex: align entries must be \'l\', \'c\' or \'r\', got "|" for column acc' });
    assert.throws(() => tableToLatex(tiny, { digits: 1.5 }), { message: 'tableToLatex: digits must be an integer in [0, 20], got 1.5 (column method)' });
    assert.throws(() => tableToLatex(tiny, { floating: false, caption: 'x' }), {
      message: 'tableToLatex: caption and label need floating: true (\\caption and \\label belong to the table float)',
    });
    assert.throws(() => tableToLatex(tiny, { label: 'tab:my table' }), { message: 'tableToLatex: label "tab:my table" must not contain whitespace or any of \\ { } % # & $ ^ ~' });
    assert.throws(() => tableToLatex({ columns: ['a', 'b'], rows: [[1]] }), { message: 'tableToLatex: row 0 has 1 cells, expected 2' });
    assert.throws(() => tableToLatex({ columns: [], rows: [] }), { message: 'tableToLatex: the table has no columns' });
  });
});
