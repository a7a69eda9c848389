import path from 'node:path';
import PDFDocument from 'pdfkit';

const FONT_DIR = path.join(path.dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = { body: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf', light: 'DejaVuSans-ExtraLight.ttf', mono: 'DejaVuSansMono.ttf' } as const;
export type FontName = keyof typeof FONTS;

export const COLORS = {
  ink: '#1F2937',
  muted: '#6B7280',
  faint: '#E5E7EB',
  zebra: '#F6F7F9',
  brand: '#1E3A5F',
  accent: '#0F766E',
  accentTint: '#ECFDF5',
  good: '#15803D',
  warn: '#B45309',
  bad: '#B91C1C',
  /** Neither good nor bad: controls not evaluated. */
  neutral: '#D1D5DB',
} as const;

export const SEVERITY_COLORS: Record<string, string> = { critical: '#7F1D1D', high: '#DC2626', medium: '#F59E0B', low: '#3B82F6', info: '#9CA3AF' };
export const STATUS_COLORS: Record<string, string> = { passed: COLORS.good, failed: COLORS.bad, not_evaluated: COLORS.muted };

const PAGE_MARGINS = { top: 78, bottom: 66, left: 56, right: 56 };
const TOC_LINES_PER_PAGE = 32;
/** A contents this short shares its page with the first section instead of taking a page alone. */
const TOC_SHORT = 12;
const TOC_LINE_HEIGHT = 19;
const TOC_FIRST_LINE = PAGE_MARGINS.top + 42;

export type Cell = string | { text: string; color?: string; font?: FontName; pill?: string };
export interface Column {
  header: string;
  /** Share of the table's width. */
  width: number;
  align?: 'left' | 'right';
  font?: FontName;
  size?: number;
}

interface Section {
  title: string;
  level: 1 | 2;
  page: number;
  destination: string;
}

/**
 * pdfkit with fonts embedded and the furniture of a delivered report: a title page, a table of
 * contents filled in once every section's page is known, headers and footers with page numbers,
 * and tables that break across pages repeating their header row.
 */
export class PdfLayout {
  readonly doc: PDFKit.PDFDocument;
  readonly #sections: Section[] = [];
  #contentsStart = -1;
  #contentsPages = 0;
  #contentsLines = TOC_LINES_PER_PAGE;
  #sectionOnContentsPage = false;

  constructor(
    private readonly meta: { title: string; subject: string; organization: string; footer: string },
  ) {
    // Pages stay buffered until the end: the contents and "page N of M" are written last.
    this.doc = new PDFDocument({
      size: 'A4',
      margins: PAGE_MARGINS,
      bufferPages: true,
      pdfVersion: '1.7',
      displayTitle: true,
      info: { Title: meta.title, Subject: meta.subject, Author: 'fourfold', Creator: 'fourfold', Producer: 'fourfold (pdfkit)' },
    });
    for (const [name, file] of Object.entries(FONTS)) this.doc.registerFont(name, path.join(FONT_DIR, file));
    this.doc.font('body').fillColor(COLORS.ink);
  }

  get width(): number {
    return this.doc.page.width - PAGE_MARGINS.left - PAGE_MARGINS.right;
  }
  get left(): number {
    return PAGE_MARGINS.left;
  }
  get bottom(): number {
    return this.doc.page.height - PAGE_MARGINS.bottom;
  }

  titlePage(input: { kind: string; headline: string; facts: [string, string][] }): void {
    const { doc } = this;
    doc.rect(0, 0, doc.page.width, 300).fill(COLORS.brand);
    doc.rect(0, 300, doc.page.width, 6).fill(COLORS.accent);
    doc.font('bold').fontSize(14).fillColor('#FFFFFF').text('fourfold', this.left, 64, { characterSpacing: 2 });
    doc.font('body').fontSize(10).fillColor('#C7D2FE').text('Cloud audit · security · cost · architecture · compliance', this.left, 84);
    doc.font('bold').fontSize(30).fillColor('#FFFFFF').text(input.kind, this.left, 170, { width: this.width });
    doc.font('body').fontSize(13).fillColor('#E0E7FF').text(input.headline, this.left, doc.y + 6, { width: this.width });
    let y = 360;
    doc.font('bold').fontSize(11).fillColor(COLORS.brand).text(this.meta.organization, this.left, y);
    y += 30;
    for (const [label, value] of input.facts) {
      doc.font('body').fontSize(9).fillColor(COLORS.muted).text(label.toUpperCase(), this.left, y, { width: 150, characterSpacing: 0.5 });
      doc.font('body').fontSize(10).fillColor(COLORS.ink).text(value, this.left + 160, y - 1, { width: this.width - 160 });
      y = Math.max(doc.y, y + 14) + 8;
    }
    doc.font('body').fontSize(8).fillColor(COLORS.muted).text('Confidential: prepared for the organization named above.', this.left, this.bottom - 10, { width: this.width, lineBreak: false });
  }

  /** Keeps pages for the table of contents, to fill once the sections' pages are known. */
  reserveContents(entries: number): void {
    this.#contentsStart = this.doc.bufferedPageRange().count;
    if (entries <= TOC_SHORT) {
      this.#contentsPages = 1;
      this.#contentsLines = entries;
      this.#sectionOnContentsPage = true;
      this.doc.addPage();
      this.doc.y = TOC_FIRST_LINE + entries * TOC_LINE_HEIGHT + 12;
      return;
    }
    this.#contentsPages = Math.max(1, Math.ceil((entries + 1) / TOC_LINES_PER_PAGE));
    for (let i = 0; i < this.#contentsPages; i++) this.doc.addPage();
  }

  /** Starts a section: a new page for level 1; level 2 continues on the page when there is room. */
  section(title: string, level: 1 | 2 = 1): void {
    const { doc } = this;
    if ((level === 1 && !this.#sectionOnContentsPage) || doc.y > this.bottom - 220) doc.addPage();
    else doc.y += 18;
    this.#sectionOnContentsPage = false;
    const destination = `s${this.#sections.length}`;
    doc.addNamedDestination(destination);
    this.#sections.push({ title, level, page: doc.bufferedPageRange().start + doc.bufferedPageRange().count - 1, destination });
    doc.outline.addItem(title);
    const size = level === 1 ? 20 : 14;
    doc.font('bold').fontSize(size).fillColor(COLORS.brand).text(title, this.left, doc.y, { width: this.width });
    if (level === 1) {
      doc.moveTo(this.left, doc.y + 4).lineTo(this.left + 60, doc.y + 4).lineWidth(2).strokeColor(COLORS.accent).stroke();
      doc.y += 16;
    } else {
      doc.y += 6;
    }
  }

  ensureSpace(height: number): void {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }

  heading(text: string): void {
    this.ensureSpace(40);
    this.doc.y += 6;
    this.doc.font('bold').fontSize(11).fillColor(COLORS.ink).text(text, this.left, this.doc.y, { width: this.width });
    this.doc.y += 4;
  }

  paragraph(text: string, options: { color?: string; size?: number; font?: FontName } = {}): void {
    const { doc } = this;
    doc.font(options.font ?? 'body').fontSize(options.size ?? 10);
    this.ensureSpace(Math.min(doc.heightOfString(text, { width: this.width }), 200));
    doc.fillColor(options.color ?? COLORS.ink).text(text, this.left, doc.y, { width: this.width, lineGap: 2 });
    doc.y += 6;
  }

  /** A shaded box of monospaced text (a Terraform snippet), broken across pages when long. */
  code(text: string): void {
    const { doc } = this;
    doc.font('mono').fontSize(7.5);
    const lines = text.replace(/\s+$/, '').split('\n');
    const lineHeight = doc.currentLineHeight(true) + 1;
    let i = 0;
    while (i < lines.length) {
      this.ensureSpace(lineHeight * 3 + 12);
      const fit = Math.max(1, Math.floor((this.bottom - doc.y - 12) / lineHeight));
      const chunk = lines.slice(i, i + fit);
      const top = doc.y;
      const height = chunk.length * lineHeight + 12;
      doc.rect(this.left, top, this.width, height).fill('#F3F4F6');
      doc.rect(this.left, top, 3, height).fill(COLORS.accent);
      chunk.forEach((line, k) => doc.fillColor('#111827').text(line, this.left + 12, top + 6 + k * lineHeight, { width: this.width - 20, lineBreak: false, height: lineHeight }));
      doc.y = top + height + 8;
      i += chunk.length;
    }
  }

  /** Label / value rows. */
  facts(rows: [string, string][]): void {
    const { doc } = this;
    for (const [label, value] of rows) {
      doc.font('body').fontSize(9);
      const height = Math.max(doc.heightOfString(value, { width: this.width - 170 }), 12);
      this.ensureSpace(height + 6);
      const y = doc.y;
      doc.fillColor(COLORS.muted).text(label, this.left, y, { width: 160 });
      doc.fillColor(COLORS.ink).text(value, this.left + 170, y, { width: this.width - 170 });
      doc.y = y + height + 5;
    }
    doc.y += 4;
  }

  pill(text: string, color: string, x: number, y: number): number {
    const { doc } = this;
    doc.font('bold').fontSize(7);
    const width = doc.widthOfString(text.toUpperCase()) + 10;
    doc.roundedRect(x, y, width, 12, 6).fill(color);
    doc.fillColor('#FFFFFF').text(text.toUpperCase(), x + 5, y + 2.5, { lineBreak: false });
    return width;
  }

  /** A table whose rows arrive in pages; a row never splits, and each new page repeats the header row. */
  async table(columns: Column[], pages: AsyncIterable<Cell[][]> | Cell[][][], options: { empty?: string; limit?: number } = {}): Promise<number> {
    const { doc } = this;
    const pad = 4;
    const total = columns.reduce((sum, c) => sum + c.width, 0);
    const widths = columns.map((c) => (c.width / total) * this.width);
    const xs = widths.map((_, i) => this.left + widths.slice(0, i).reduce((a, b) => a + b, 0));
    const header = () => {
      const y = doc.y;
      doc.rect(this.left, y, this.width, 18).fill(COLORS.brand);
      doc.font('bold').fontSize(7.5).fillColor('#FFFFFF');
      columns.forEach((c, i) => doc.text(c.header, xs[i]! + pad, y + 5, { width: widths[i]! - 2 * pad, align: c.align ?? 'left', lineBreak: false }));
      doc.y = y + 18;
    };
    this.ensureSpace(40);
    header();
    let count = 0;
    const limit = options.limit ?? Infinity;
    rows: for await (const page of pages) {
      for (const row of page) {
        if (count >= limit) break rows;
        const cells = row.map((cell) => (typeof cell === 'string' ? { text: cell } : cell));
        let height = 0;
        cells.forEach((cell, i) => {
          const column = columns[i]!;
          doc.font(cell.font ?? column.font ?? 'body').fontSize(column.size ?? 8);
          const width = widths[i]! - 2 * pad;
          if (!cell.pill) cell.text = brokenAtSeparators(doc, cell.text, width);
          const h = cell.pill ? 12 : doc.widthOfString(cell.text) <= width && !cell.text.includes('\n') ? doc.currentLineHeight(true) : doc.heightOfString(cell.text, { width });
          height = Math.max(height, h);
        });
        height += 2 * pad;
        if (doc.y + height > this.bottom) {
          doc.addPage();
          header();
        }
        const y = doc.y;
        if (count % 2 === 1) doc.rect(this.left, y, this.width, height).fill(COLORS.zebra);
        cells.forEach((cell, i) => {
          const column = columns[i]!;
          if (cell.pill) {
            this.pill(cell.text, cell.pill, xs[i]! + pad, y + pad - 1);
            return;
          }
          doc.font(cell.font ?? column.font ?? 'body').fontSize(column.size ?? 8).fillColor(cell.color ?? COLORS.ink);
          doc.text(cell.text, xs[i]! + pad, y + pad, { width: widths[i]! - 2 * pad, align: column.align ?? 'left' });
        });
        doc.moveTo(this.left, y + height).lineTo(this.left + this.width, y + height).lineWidth(0.3).strokeColor(COLORS.faint).stroke();
        doc.y = y + height;
        count++;
      }
    }
    if (count === 0) {
      doc.font('body').fontSize(8).fillColor(COLORS.muted).text(options.empty ?? 'None.', this.left + pad, doc.y + pad, { width: this.width });
    }
    doc.y += 10;
    return count;
  }

  /** Horizontal bars, one a row, scaled to the largest value; `segments` stack within a row. */
  bars(rows: { label: string; segments: { value: number; color: string }[]; note?: string }[], options: { max?: number } = {}): void {
    const { doc } = this;
    const max = options.max ?? Math.max(1, ...rows.map((r) => r.segments.reduce((s, x) => s + x.value, 0)));
    const labelWidth = 110;
    const noteWidth = 90;
    const barWidth = this.width - labelWidth - noteWidth - 10;
    this.ensureSpace(rows.length * 20 + 10);
    for (const row of rows) {
      const y = doc.y;
      doc.font('body').fontSize(9).fillColor(COLORS.ink).text(fitted(doc, row.label, labelWidth - 6), this.left, y + 2, { lineBreak: false });
      doc.rect(this.left + labelWidth, y, barWidth, 13).fill('#F3F4F6');
      let x = this.left + labelWidth;
      for (const segment of row.segments) {
        const w = (segment.value / max) * barWidth;
        if (w > 0) doc.rect(x, y, w, 13).fill(segment.color);
        x += w;
      }
      const total = row.segments.reduce((s, x) => s + x.value, 0);
      doc.font('bold').fontSize(9).fillColor(COLORS.ink).text(row.note ?? String(total), this.left + labelWidth + barWidth + 8, y + 2, { width: noteWidth, lineBreak: false });
      doc.y = y + 20;
    }
    doc.y += 4;
  }

  legend(items: { label: string; color: string }[]): void {
    const { doc } = this;
    let x = this.left;
    const y = doc.y;
    doc.font('body').fontSize(8);
    for (const item of items) {
      doc.rect(x, y + 1, 8, 8).fill(item.color);
      doc.fillColor(COLORS.muted).text(item.label, x + 11, y, { lineBreak: false });
      x += 11 + doc.widthOfString(item.label) + 14;
    }
    doc.y = y + 18;
  }

  /** A half-circle gauge of a 0–100 score. */
  gauge(cx: number, cy: number, radius: number, score: number | null, color: string): void {
    const { doc } = this;
    doc.lineWidth(9).lineCap('butt');
    doc.path(`M ${cx - radius} ${cy} A ${radius} ${radius} 0 0 1 ${cx + radius} ${cy}`).strokeColor('#E5E7EB').stroke();
    if (score !== null && score > 0) {
      const angle = Math.PI * (score / 100);
      const ex = cx - radius * Math.cos(angle);
      const ey = cy - radius * Math.sin(angle);
      doc.path(`M ${cx - radius} ${cy} A ${radius} ${radius} 0 0 1 ${ex.toFixed(2)} ${ey.toFixed(2)}`).strokeColor(color).stroke();
    }
    doc.lineWidth(1);
  }

  /** Fills the contents, draws every page's header and footer, and ends the document. */
  finish(): void {
    const { doc } = this;
    const range = doc.bufferedPageRange();
    if (this.#contentsStart >= 0) {
      let entry = 0;
      for (let p = 0; p < this.#contentsPages; p++) {
        doc.switchToPage(this.#contentsStart + p);
        let y = PAGE_MARGINS.top;
        if (p === 0) {
          doc.font('bold').fontSize(20).fillColor(COLORS.brand).text('Contents', this.left, y);
          y = TOC_FIRST_LINE;
        }
        for (let line = 0; line < this.#contentsLines && entry < this.#sections.length; line++, entry++) {
          const section = this.#sections[entry]!;
          const indent = section.level === 1 ? 0 : 16;
          const font = section.level === 1 ? 'bold' : 'body';
          const pageNumber = String(section.page + 1);
          doc.font(font).fontSize(10).fillColor(COLORS.ink);
          const numberWidth = doc.widthOfString(pageNumber);
          const titleWidth = this.width - indent - 40;
          const title = fitted(doc, section.title, titleWidth);
          doc.text(title, this.left + indent, y, { lineBreak: false });
          const dotsFrom = this.left + indent + doc.widthOfString(title) + 6;
          const dotsTo = this.left + this.width - numberWidth - 6;
          if (dotsTo > dotsFrom) {
            doc.moveTo(dotsFrom, y + 9).lineTo(dotsTo, y + 9).lineWidth(0.6).dash(1, { space: 2.5 }).strokeColor('#9CA3AF').stroke().undash();
          }
          doc.text(pageNumber, this.left + this.width - numberWidth, y, { lineBreak: false });
          doc.goTo(this.left + indent, y - 2, this.width - indent, 16, section.destination);
          y += TOC_LINE_HEIGHT;
        }
      }
    }
    for (let i = 1; i < range.count; i++) {
      doc.switchToPage(range.start + i);
      // Text in the margins must not make pdfkit add a page.
      const bottomMargin = doc.page.margins.bottom;
      doc.page.margins.bottom = 0;
      doc.font('bold').fontSize(8).fillColor(COLORS.brand).text('fourfold', this.left, 36, { lineBreak: false });
      doc.font('body').fontSize(8).fillColor(COLORS.muted).text(`  ·  ${this.meta.title}`, this.left + 38, 36, { lineBreak: false });
      doc.text(this.meta.organization, this.left, 36, { width: this.width, align: 'right', lineBreak: false });
      doc.moveTo(this.left, 52).lineTo(this.left + this.width, 52).lineWidth(0.5).strokeColor(COLORS.faint).stroke();
      const footerY = doc.page.height - 44;
      doc.moveTo(this.left, footerY - 8).lineTo(this.left + this.width, footerY - 8).lineWidth(0.5).strokeColor(COLORS.faint).stroke();
      doc.font('body').fontSize(7.5).fillColor(COLORS.muted).text(this.meta.footer, this.left, footerY, { width: this.width - 80, lineBreak: false });
      doc.text(`Page ${i + 1} of ${range.count}`, this.left, footerY, { width: this.width, align: 'right', lineBreak: false });
      doc.page.margins.bottom = bottomMargin;
    }
    doc.end();
  }
}

/**
 * `text` with each word too wide for `width` broken onto lines after `/`, `:`, `.`, `_` or `-`
 * (by character only when a piece is still too wide): pdfkit would cut an id or ARN anywhere,
 * and leaves a blank line where it cuts a word after a newline.
 */
function brokenAtSeparators(doc: PDFKit.PDFDocument, text: string, width: number): string {
  // pdfkit measures a line's newline too: a line short of the width by less than a glyph wraps again.
  const room = width - doc.widthOfString('M');
  const fits = (s: string) => doc.widthOfString(s) <= room;
  const breakWord = (word: string): string => {
    if (fits(word)) return word;
    const lines: string[] = [];
    let line = '';
    for (const piece of word.split(/(?<=[/:._-])/)) {
      if (fits(line + piece)) {
        line += piece;
        continue;
      }
      if (line) lines.push(line);
      line = '';
      for (const char of piece) {
        if (line && !fits(line + char)) {
          lines.push(line);
          line = '';
        }
        line += char;
      }
    }
    if (line) lines.push(line);
    return lines.join('\n');
  };
  return text
    .split('\n')
    .map((line) => (fits(line) ? line : line.split(' ').map(breakWord).join(' ')))
    .join('\n');
}

/** `text`, cut with an ellipsis to fit `width` in the current font. */
function fitted(doc: PDFKit.PDFDocument, text: string, width: number): string {
  if (doc.widthOfString(text) <= width) return text;
  let cut = text;
  while (cut.length > 1 && doc.widthOfString(`${cut}…`) > width) cut = cut.slice(0, -1);
  return `${cut.trimEnd()}…`;
}

export function money(usd: number): string {
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function humanize(value: string): string {
  return value.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}
