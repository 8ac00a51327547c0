/**
 * JSON as the mutators see it: objects are ordered entry lists, so a mutation
 * can write `__proto__` or a key twice (which plain objects cannot hold), and
 * a number can be written as raw text (`1e400`, `18446744073709551616`).
 */

export class JsonObject {
  constructor(public entries: [string, Json][] = []) {}
  get(key: string): Json | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
  set(key: string, value: Json): void {
    const entry = this.entries.find(([k]) => k === key);
    if (entry) entry[1] = value;
    else this.entries.push([key, value]);
  }
  delete(key: string): void {
    this.entries = this.entries.filter(([k]) => k !== key);
  }
}

/** A number (or anything) written verbatim. */
export class JsonRaw {
  constructor(readonly text: string) {}
}

export type Json = null | boolean | number | string | JsonRaw | Json[] | JsonObject;

/** Plain JSON → tree (JSON.parse keeps `__proto__` as an own key, so Object.entries sees it). */
export function toTree(value: unknown): Json {
  if (Array.isArray(value)) return value.map(toTree);
  if (value !== null && typeof value === 'object')
    return new JsonObject(Object.entries(value).map(([k, v]) => [k, toTree(v)]));
  return value as Json;
}

export function parseTree(text: string): Json {
  return toTree(JSON.parse(text));
}

export function stringify(value: Json): string {
  if (value instanceof JsonRaw) return value.text;
  if (value instanceof JsonObject)
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${stringify(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(stringify).join(',')}]`;
  return JSON.stringify(value);
}

/** A place in the tree: its container and key (entry index for objects), for replacing or deleting. */
export interface JsonSlot {
  path: string;
  container: Json[] | JsonObject;
  /** Array index, or entry index in an object. */
  index: number;
}

export function slotValue(slot: JsonSlot): Json {
  return slot.container instanceof JsonObject
    ? (slot.container.entries[slot.index] as [string, Json])[1]
    : (slot.container[slot.index] as Json);
}

export function setSlot(slot: JsonSlot, value: Json): void {
  if (slot.container instanceof JsonObject) (slot.container.entries[slot.index] as [string, Json])[1] = value;
  else slot.container[slot.index] = value;
}

export function deleteSlot(slot: JsonSlot): void {
  if (slot.container instanceof JsonObject) slot.container.entries.splice(slot.index, 1);
  else slot.container.splice(slot.index, 1);
}

/** Every slot, depth first; arrays longer than `perArray` contribute only their first few elements. */
export function slots(root: Json, perArray = 6, path = '$'): JsonSlot[] {
  const out: JsonSlot[] = [];
  if (root instanceof JsonObject) {
    root.entries.forEach(([k, v], index) => {
      const p = `${path}.${k}`;
      out.push({ path: p, container: root, index });
      out.push(...slots(v, perArray, p));
    });
  } else if (Array.isArray(root)) {
    for (let index = 0; index < Math.min(root.length, perArray); index++) {
      const p = `${path}[${index}]`;
      out.push({ path: p, container: root, index });
      out.push(...slots(root[index] as Json, perArray, p));
    }
  }
  return out;
}
