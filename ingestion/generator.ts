import { once } from "node:events";
import { closeSync, createWriteStream, existsSync, openSync, readSync, statSync } from "node:fs";
import { createGzip } from "node:zlib";
import { UsageError } from "../core/errors.ts";
import { openOutputFile } from "../core/output-file.ts";

/**
 * Sample data shaped like the REES46 e-commerce exports: sorted by time, sessions of 10-character
 * ids, view → cart → purchase funnels (about 7 % of views carted, a bit over half of the carts
 * bought, some removed), heavy-tailed (Zipf) users and products, a catalogue whose category codes
 * and brands are empty for about a quarter of the products (as in the real files), 19-digit user
 * and category ids, prices by category, weekly and hourly seasonality, and a few exact duplicate
 * rows next to their original. Deterministic: the same options give the same bytes.
 */

export interface GenerateOptions {
  out: string;
  /** Total rows (duplicates included). Wins over days × eventsPerDay. */
  events?: number;
  days?: number;
  eventsPerDay?: number;
  users?: number;
  /** First day, YYYY-MM-DD (UTC). @defaultValue 2019-10-01 */
  startDate?: string;
  seed?: number;
  format?: "rees46" | "short";
  gzip?: boolean;
  /** Add rows to an existing file (no second header). */
  append?: boolean;
  /** Replace an existing file (otherwise refused: core/output-file.ts). */
  overwrite?: boolean;
}

export interface GenerateSummary {
  file: string;
  rows: number;
  duplicates: number;
  days: number;
  users: number;
  products: number;
  firstEvent: string;
  lastEvent: string;
  bytes: number;
  seconds: number;
  eventsByType: Record<string, number>;
}

export const DEFAULT_EVENTS = 885_129;
const DEFAULT_DAYS = 30;
const DUPLICATE_RATE = 0.002;

export const REES46_HEADER =
  "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
export const SHORT_HEADER = "user_id,event_type,product_id,price,timestamp";

/** sfc32: small, fast, good statistical quality; seeded through splitmix32. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

/** Samples indices 0..n-1 with weight 1/(i+1)^s (Zipf), by binary search in the cumulative weights. */
export class Zipf {
  private readonly cdf: Float64Array;
  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      sum += 1 / (i + 1) ** s;
      this.cdf[i] = sum;
    }
    for (let i = 0; i < n; i++) this.cdf[i] = (this.cdf[i] as number) / sum;
  }
  sample(rng: Random): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

interface Category {
  code: string;
  /** Median price and spread (lognormal sigma). */
  price: number;
  sigma: number;
  brands: readonly string[];
}

const CATEGORIES: readonly Category[] = [
  {
    code: "electronics.smartphone",
    price: 250,
    sigma: 0.7,
    brands: ["samsung", "apple", "xiaomi", "huawei", "oppo"],
  },
  {
    code: "computers.notebook",
    price: 700,
    sigma: 0.5,
    brands: ["lenovo", "asus", "acer", "hp", "apple", "dell"],
  },
  {
    code: "electronics.video.tv",
    price: 450,
    sigma: 0.6,
    brands: ["samsung", "lg", "sony", "philips", "löwe"],
  },
  {
    code: "electronics.audio.headphone",
    price: 40,
    sigma: 0.9,
    brands: ["sony", "jbl", "sennheiser", "apple", "xiaomi"],
  },
  {
    code: "computers.components.videocards",
    price: 300,
    sigma: 0.8,
    brands: ["msi", "gigabyte", "asus", "palit"],
  },
  { code: "computers.components.memory", price: 45, sigma: 0.5, brands: ["kingston", "corsair", "crucial"] },
  {
    code: "computers.peripherals.printer",
    price: 150,
    sigma: 0.6,
    brands: ["hp", "canon", "epson", "brother"],
  },
  {
    code: "computers.peripherals.mouse",
    price: 15,
    sigma: 0.7,
    brands: ["logitech", "a4tech", "razer", "defender"],
  },
  {
    code: "computers.peripherals.keyboard",
    price: 25,
    sigma: 0.7,
    brands: ["logitech", "a4tech", "razer", "genius"],
  },
  { code: "electronics.tablet", price: 220, sigma: 0.6, brands: ["apple", "samsung", "lenovo", "huawei"] },
  { code: "electronics.clocks", price: 120, sigma: 0.8, brands: ["garmin", "apple", "samsung", "casio"] },
  {
    code: "electronics.camera.photo",
    price: 500,
    sigma: 0.7,
    brands: ["canon", "nikon", "sony", "fujifilm"],
  },
  {
    code: "electronics.audio.acoustic",
    price: 80,
    sigma: 0.9,
    brands: ["jbl", "sven", "edifier", "marshall"],
  },
  {
    code: "appliances.kitchen.refrigerators",
    price: 600,
    sigma: 0.4,
    brands: ["bosch", "lg", "samsung", "indesit"],
  },
  {
    code: "appliances.kitchen.washer",
    price: 400,
    sigma: 0.4,
    brands: ["bosch", "lg", "electrolux", "whirlpool"],
  },
  {
    code: "appliances.environment.vacuum",
    price: 150,
    sigma: 0.7,
    brands: ["dyson", "philips", "xiaomi", "karcher"],
  },
  { code: "computers.components.cpu", price: 200, sigma: 0.6, brands: ["intel", "amd"] },
  {
    code: "computers.network.router",
    price: 40,
    sigma: 0.6,
    brands: ["tp-link", "d-link", "asus", "mikrotik"],
  },
  { code: "auto.accessories.player", price: 60, sigma: 0.6, brands: ["pioneer", "kenwood", "sony"] },
  { code: "kids.toys", price: 20, sigma: 0.9, brands: ["lego", "hasbro", "mattel"] },
];

interface Product {
  id: string;
  categoryId: string;
  categoryCode: string;
  brand: string;
  price: string;
}

const SESSION_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));

function digitsString(rng: Random, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String(rng.int(10));
  return s;
}

function buildCatalogue(rng: Random, count: number): Product[] {
  // One 19-digit id per category (REES46 category ids are 19 digits, above 2^53).
  const categoryIds = CATEGORIES.map(() => `2${digitsString(rng, 18)}`);
  const products: Product[] = [];
  const used = new Set<number>();
  for (let i = 0; i < count; i++) {
    const c = rng.int(CATEGORIES.length);
    const category = CATEGORIES[c] as Category;
    let id: number;
    do id = 1_000_000 + rng.int(99_000_000);
    while (used.has(id));
    used.add(id);
    const price = Math.max(0.99, category.price * Math.exp(category.sigma * rng.normal()));
    products.push({
      id: String(id),
      categoryId: categoryIds[c] as string,
      // About a quarter of the real export's rows have no category code, and a quarter no brand.
      categoryCode: rng.next() < 0.25 ? "" : category.code,
      brand: rng.next() < 0.25 ? "" : rng.pick(category.brands),
      price: price.toFixed(2),
    });
  }
  return products;
}

/** Relative traffic per hour of day (UTC): quiet nights, an evening peak. */
const HOURLY = [
  0.25, 0.18, 0.14, 0.12, 0.14, 0.25, 0.45, 0.7, 0.9, 1.0, 1.05, 1.1, 1.1, 1.1, 1.15, 1.2, 1.3, 1.4, 1.45,
  1.4, 1.2, 0.95, 0.7, 0.45,
];
/** Relative traffic per weekday, Sunday first. */
const WEEKLY = [1.1, 0.95, 0.95, 0.95, 1.0, 1.05, 1.15];

function parseStartDate(raw: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw) {
    throw new UsageError(`--start-date: "${raw}" is not a date YYYY-MM-DD such as 2019-10-01`);
  }
  return ms;
}

/** Splits `total` over weights, exactly (largest remainder). */
function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (w / sum) * total);
  const out = raw.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) {
    const i = (order[k] as readonly [number, number])[1];
    out[i] = (out[i] as number) + 1;
  }
  return out;
}

const EVENT_NAMES = ["view", "cart", "remove_from_cart", "purchase"] as const;

export async function generate(options: GenerateOptions): Promise<GenerateSummary> {
  const started = Date.now();
  const format = options.format ?? "rees46";
  const days = options.days ?? DEFAULT_DAYS;
  const total =
    options.events ?? (options.eventsPerDay !== undefined ? days * options.eventsPerDay : DEFAULT_EVENTS);
  if (!Number.isInteger(days) || days < 1) throw new UsageError("--days takes a whole number >= 1");
  if (!Number.isInteger(total) || total < 0) throw new UsageError("--events takes a whole number >= 0");
  const start = parseStartDate(options.startDate ?? "2019-10-01");
  const rng = new Random(options.seed ?? 42);
  const userCount = options.users ?? Math.max(10, Math.round(total / 11));
  const productCount = Math.min(60_000, Math.max(50, Math.round(total / 40)));
  const products = buildCatalogue(rng, productCount);
  const productPick = new Zipf(productCount, 1.05);
  const userPick = new Zipf(userCount, 0.9);
  // A Zipf law over 500,000 users leaves half of them out of 5 M events. Asked for a number of
  // users (--users), every one of them appears: sessions go to users not seen yet as often as
  // needed to have met them all by 90 % of the rows (the tail of one-visit customers of a real
  // shop). Without --users the rows are those of earlier versions, seed for seed.
  const everyUser = options.users !== undefined;
  const seen = everyUser ? new Uint8Array(userCount) : undefined;
  let distinct = 0;
  let nextUnseen = userCount - 1;
  let rowsBefore = 0;
  // A user id per user: 19 digits, unique (the index is in the low digits), scattered.
  const userIds: string[] = [];
  for (let i = 0; i < userCount; i++) userIds.push(`15${digitsString(rng, 8)}${String(i).padStart(9, "0")}`);

  const header = format === "rees46" ? REES46_HEADER : SHORT_HEADER;
  const appending = options.append === true && existsSync(options.out) && statSync(options.out).size > 0;
  if (appending && !options.gzip) {
    const fd = openSync(options.out, "r");
    const head = Buffer.alloc(header.length + 4);
    const n = readSync(fd, head, 0, head.length, 0);
    closeSync(fd);
    const first = head
      .subarray(0, n)
      .toString("utf8")
      .replace(/^\uFEFF/, "")
      .split(/\r?\n/)[0];
    if (first !== header) {
      throw new UsageError(
        `--append: ${options.out} does not start with the ${format} header; choose --format to match`,
      );
    }
  }
  // Never over an existing file unless --overwrite or --append; a missing folder is created, as
  // `--out reports/sample.csv` suggests it should be.
  const out = openOutputFile(options.out, {
    flag: "--out",
    overwrite: options.overwrite === true,
    append: options.append === true,
  });
  const file = createWriteStream(options.out, { fd: out.fd });
  const gzip = options.gzip ? createGzip({ level: 6 }) : undefined;
  if (gzip) gzip.pipe(file);
  const sink = gzip ?? file;
  let bytes = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!sink.write(text)) await once(sink, "drain");
  };
  if (!appending) await write(`${header}\n`);

  const weights: number[] = [];
  for (let d = 0; d < days; d++) {
    const weekday = new Date(start + d * 86_400_000).getUTCDay();
    weights.push((WEEKLY[weekday] as number) * (1 + 0.15 * Math.sin(d / 4)) * (0.9 + 0.2 * rng.next()));
  }
  const perDay = apportion(total, weights);
  const hourCdf: number[] = [];
  const hourSum = HOURLY.reduce((a, b) => a + b, 0);
  HOURLY.reduce((acc, w) => {
    hourCdf.push((acc + w) / hourSum);
    return acc + w;
  }, 0);

  const counts: Record<string, number> = { view: 0, cart: 0, remove_from_cart: 0, purchase: 0 };
  let duplicates = 0;
  let firstSecond = Number.POSITIVE_INFINITY;
  let lastSecond = Number.NEGATIVE_INFINITY;
  for (let d = 0; d < days; d++) {
    const quota = perDay[d] as number;
    const dayStart = start / 1000 + d * 86_400;
    const times: number[] = [];
    const types: number[] = [];
    const prods: number[] = [];
    const users: number[] = [];
    const sessions: string[] = [];
    const dups: boolean[] = [];
    let made = 0;
    while (made < quota) {
      let u: number;
      if (
        seen &&
        distinct < Math.min(userCount, Math.ceil((userCount * (rowsBefore + made)) / (total * 0.9)))
      ) {
        while (nextUnseen > 0 && seen[nextUnseen]) nextUnseen--;
        u = nextUnseen;
      } else u = userPick.sample(rng);
      if (seen && !seen[u]) {
        seen[u] = 1;
        distinct++;
      }
      let session = "";
      for (let i = 0; i < 10; i++) session += SESSION_CHARS[rng.int(62)];
      const r = rng.next();
      let hour = 0;
      while ((hourCdf[hour] as number) < r) hour++;
      let t = Math.floor(dayStart + hour * 3600 + rng.int(3600));
      const views = 1 + Math.floor(-Math.log(1 - rng.next()) * 3);
      const emit = (type: number, p: number) => {
        if (made >= quota) return;
        const dup = made + 1 < quota && rng.next() < DUPLICATE_RATE;
        times.push(t);
        types.push(type);
        prods.push(p);
        users.push(u);
        sessions.push(session);
        dups.push(dup);
        made += dup ? 2 : 1;
      };
      for (let v = 0; v < views && made < quota; v++) {
        const p = productPick.sample(rng);
        emit(0, p);
        t += 5 + rng.int(90);
        if (rng.next() < 0.07) {
          emit(1, p);
          t += 10 + rng.int(120);
          const next = rng.next();
          if (next < 0.58) {
            emit(3, p);
            t += 20 + rng.int(200);
          } else if (next < 0.73) {
            emit(2, p);
            t += 5 + rng.int(60);
          }
        }
      }
    }
    // Sort by (time, creation order) as one float key: typed-array sort is native and fast.
    const keys = new Float64Array(times.length);
    for (let i = 0; i < times.length; i++) keys[i] = ((times[i] as number) - dayStart) * 1_048_576 + i;
    keys.sort();
    let buf = "";
    let cachedDay = -1;
    let date = "";
    for (const key of keys) {
      const i = key % 1_048_576;
      const sec = times[i] as number;
      firstSecond = Math.min(firstSecond, sec);
      lastSecond = Math.max(lastSecond, sec);
      const p = products[prods[i] as number] as Product;
      const type = EVENT_NAMES[types[i] as number] as string;
      const day = Math.floor(sec / 86_400);
      if (day !== cachedDay) {
        cachedDay = day;
        date = new Date(day * 86_400_000).toISOString().slice(0, 10);
      }
      const sod = sec % 86_400;
      const clock = `${TWO[Math.floor(sod / 3600)]}:${TWO[Math.floor(sod / 60) % 60]}:${TWO[sod % 60]}`;
      const user = userIds[users[i] as number] as string;
      const row =
        format === "rees46"
          ? `${date} ${clock} UTC,${type},${p.id},${p.categoryId},${p.categoryCode},${p.brand},${p.price},${user},${sessions[i]}\n`
          : `${user},${type},${p.id},${p.price},${date}T${clock}Z\n`;
      buf += row;
      counts[type] = (counts[type] as number) + 1;
      if (dups[i]) {
        buf += row;
        duplicates++;
        counts[type] = (counts[type] as number) + 1;
      }
      if (buf.length > 1 << 20) {
        await write(buf);
        buf = "";
      }
    }
    if (buf.length > 0) await write(buf);
    rowsBefore += quota;
  }
  sink.end();
  await once(file, "close");
  const iso = (s: number) => (Number.isFinite(s) ? new Date(s * 1000).toISOString() : "");
  return {
    file: options.out,
    rows: total,
    duplicates,
    days,
    users: userCount,
    products: productCount,
    firstEvent: iso(firstSecond),
    lastEvent: iso(lastSecond),
    bytes,
    seconds: (Date.now() - started) / 1000,
    eventsByType: counts,
  };
}
