import type { ASTNode, Environment } from '@marcbachmann/cel-js';
import { CEL_FUNCTIONS, CEL_VARIABLES } from './cel-functions';

/**
 * Compiles CEL expressions with @marcbachmann/cel-js (see src/rules/README.md for why this
 * library). Expressions are parsed and type-checked once; the compiled form is then run per
 * resource without parsing again.
 *
 * Bounds: CEL has no loops or recursion, so an evaluation's cost is bounded by the expression's
 * size times the size of its input raised to the nesting of its comprehensions (`exists`, `all`,
 * `map`, ...). The library has no runtime cost meter, so the bounds are enforced at compile time
 * (length, AST nodes, depth, comprehension nesting, estimated cost), and policies' expressions are
 * not run on inputs that make their estimated cost exceed the bound (`costOn`).
 * Regular expressions (`matches`) are left out of the dialect: JavaScript regexes backtrack, so
 * one pattern could take unbounded time on one attribute.
 */
export const EXPRESSION_LIMITS = {
  maxLength: 4096,
  maxAstNodes: 600,
  maxDepth: 32,
  maxComprehensionNesting: 3,
  /** Estimated steps (see estimateCost): what the nesting bound alone still lets list literals multiply into. */
  maxEstimatedCost: 1_000_000,
} as const;

/** What a comprehension over a list that is not a literal (attributes, related resources) is assumed to iterate over. */
export const ASSUMED_COLLECTION_SIZE = 100;

const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const EXCLUDED_FUNCTIONS = new Set(['matches']);

/** A compile error with where it is, for the API to answer `invalid_policy_expression`. */
export class InvalidExpressionError extends Error {
  constructor(
    /** The compiler's message, without the source excerpt. */
    readonly reason: string,
    /** 1-based line and column of the offending token; null when the error is about the whole expression. */
    readonly line: number | null,
    readonly column: number | null,
  ) {
    super(line === null ? reason : `${reason} (line ${line}, column ${column})`);
    this.name = 'InvalidExpressionError';
  }
}

/** The values an expression sees; see CEL_VARIABLES. */
export interface CelVariables {
  resource: Record<string, unknown>;
  related: readonly Record<string, unknown>[];
  referenced_by: readonly Record<string, unknown>[];
  account_defaults: Record<string, unknown>;
  now: Date;
}

export type ExpressionType = 'bool' | 'double';

export interface CompiledExpression {
  readonly source: string;
  readonly resultType: ExpressionType;
  /** Runs the expression; throws on a runtime error (missing key, bad operand, ...). */
  run(variables: CelVariables): unknown;
  /**
   * The estimated cost (see estimateCost) of running it on these variables, its comprehensions
   * taken to iterate over the largest list or map they hold: what bounds a run before it starts,
   * since the library cannot interrupt one.
   */
  costOn(variables: CelVariables): number;
}

export interface CelEngine {
  /** Compiles a rule condition, an expression of type bool. Throws InvalidExpressionError. */
  compileCondition(source: string): CompiledExpression;
  /** Compiles an expression of the given type (cost estimates are double). Throws InvalidExpressionError. */
  compileExpression(source: string, resultType: ExpressionType): CompiledExpression;
}

let engine: Promise<CelEngine> | undefined;

/**
 * The engine, created once per process. Asynchronous because the CEL library ships only ES
 * modules, which jest's CommonJS runtime can load only through `import()`.
 */
export function loadCelEngine(): Promise<CelEngine> {
  engine ??= import('@marcbachmann/cel-js').then(({ Environment }) => {
    const environment = new Environment({
      limits: { maxAstNodes: EXPRESSION_LIMITS.maxAstNodes, maxDepth: EXPRESSION_LIMITS.maxDepth },
    });
    for (const variable of CEL_VARIABLES) environment.registerVariable(variable.name, variable.type, { description: variable.description });
    for (const fn of CEL_FUNCTIONS) environment.registerFunction(fn.signature, fn.handler as (...args: unknown[]) => unknown, { description: fn.description });
    const compileExpression = (source: string, resultType: ExpressionType) => compile(environment, source, resultType);
    return { compileExpression, compileCondition: (source: string) => compileExpression(source, 'bool') };
  });
  return engine;
}

function compile(environment: Environment, source: string, resultType: ExpressionType): CompiledExpression {
  if (source.trim() === '') throw new InvalidExpressionError('the expression is empty', null, null);
  if (source.length > EXPRESSION_LIMITS.maxLength) {
    throw new InvalidExpressionError(`the expression is ${source.length} characters long; at most ${EXPRESSION_LIMITS.maxLength} are allowed`, null, null);
  }
  let parsed: ReturnType<Environment['parse']>;
  try {
    parsed = environment.parse(source);
  } catch (error) {
    throw positioned(source, error);
  }
  checkDialect(source, parsed.ast, 0);
  const cost = estimateCost(parsed.ast, 1, ASSUMED_COLLECTION_SIZE);
  if (cost > EXPRESSION_LIMITS.maxEstimatedCost) {
    throw new InvalidExpressionError(
      `the expression's estimated cost is ${cost} steps; at most ${EXPRESSION_LIMITS.maxEstimatedCost} are allowed (iterate over smaller lists, or nest fewer comprehensions)`,
      1,
      1,
    );
  }
  const checked = parsed.check();
  if (!checked.valid) throw positioned(source, checked.error);
  // Map fields are dynamic, so most conditions type as dyn; a definite other type is a mistake.
  const acceptable = resultType === 'bool' ? ['bool', 'dyn'] : ['double', 'int', 'dyn'];
  if (checked.type === undefined || !acceptable.includes(checked.type)) {
    throw new InvalidExpressionError(`the expression must evaluate to ${resultType}, not ${checked.type ?? 'unknown'}`, 1, 1);
  }
  const readsJson = callsParseJson(parsed.ast);
  const costs = new Map<number, number>();
  const costOn = (variables: CelVariables) => {
    const size = largestCollection(variables, readsJson);
    if (!costs.has(size)) costs.set(size, estimateCost(parsed.ast, 1, size));
    return costs.get(size)!;
  };
  return { source, resultType, run: (variables) => parsed(variables) as unknown, costOn };
}

/** Rejects what the dialect leaves out and comprehensions nested too deep. */
function checkDialect(source: string, node: ASTNode, nesting: number): void {
  const { line, column } = lineAndColumn(source, node.start);
  if ((node.op === 'call' || node.op === 'rcall') && EXCLUDED_FUNCTIONS.has(node.args[0])) {
    throw new InvalidExpressionError(`${node.args[0]}() is not available: regular expressions are not part of the rule dialect`, line, column);
  }
  const depth = node.op === 'rcall' && COMPREHENSIONS.has(node.args[0]) ? nesting + 1 : nesting;
  if (depth > EXPRESSION_LIMITS.maxComprehensionNesting) {
    throw new InvalidExpressionError(`comprehensions (all, exists, map, filter) nest at most ${EXPRESSION_LIMITS.maxComprehensionNesting} deep`, line, column);
  }
  for (const child of childrenOf(node)) checkDialect(source, child, depth);
}

/**
 * An upper estimate of the steps one evaluation takes: each node counts once per iteration of
 * the comprehensions around it. A comprehension iterates over its list literal's items, over
 * what a map/filter it ranges over iterated, or else over `collectionSize` items.
 */
function estimateCost(node: ASTNode, multiplier: number, collectionSize: number): number {
  if (node.op === 'rcall' && COMPREHENSIONS.has(node.args[0])) {
    const [, receiver, body] = node.args as unknown as [string, ASTNode, ASTNode[]];
    const inner = multiplier * rangeSize(receiver, collectionSize);
    return multiplier + estimateCost(receiver, multiplier, collectionSize) + body.reduce((sum, child) => sum + estimateCost(child, inner, collectionSize), 0);
  }
  return childrenOf(node).reduce((sum, child) => sum + estimateCost(child, multiplier, collectionSize), multiplier);
}

function rangeSize(node: ASTNode, collectionSize: number): number {
  if (node.op === 'list') return (node.args as unknown as ASTNode[]).length;
  if (node.op === 'rcall' && (node.args[0] === 'map' || node.args[0] === 'filter')) return rangeSize(node.args[1] as unknown as ASTNode, collectionSize);
  return collectionSize;
}

function callsParseJson(node: ASTNode): boolean {
  return (node.op === 'call' && node.args[0] === 'parseJson') || childrenOf(node).some(callsParseJson);
}

const largestIn = new WeakMap<object, number>();
const largestInWithJson = new WeakMap<object, number>();

/**
 * The most items a comprehension over these variables could iterate: the longest list or
 * largest map in them, and, for an expression that parses JSON, what a string could parse into.
 * Remembered per object: the same resources are seen by every rule of an audit.
 */
function largestCollection(value: unknown, readsJson: boolean): number {
  if (typeof value === 'string') return readsJson ? Math.ceil(value.length / 2) : 0;
  if (typeof value !== 'object' || value === null || value instanceof Date) return 0;
  const memo = readsJson ? largestInWithJson : largestIn;
  const known = memo.get(value);
  if (known !== undefined) return known;
  const items = Array.isArray(value) ? value : Object.values(value);
  let largest = items.length;
  for (const item of items) largest = Math.max(largest, largestCollection(item, readsJson));
  memo.set(value, largest);
  return largest;
}

function childrenOf(node: ASTNode): ASTNode[] {
  const children: ASTNode[] = [];
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collect);
    else if (typeof value === 'object' && value !== null && 'op' in value) children.push(value as ASTNode);
  };
  if (node.op !== 'value' && node.op !== 'id') collect(node.args);
  return children;
}

function lineAndColumn(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, offset));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

function positioned(source: string, error: unknown): InvalidExpressionError {
  const { summary, message, range } = (error ?? {}) as { summary?: string; message?: string; range?: { start: number } };
  const reason = summary ?? message?.split('\n')[0] ?? String(error);
  if (range === undefined) return new InvalidExpressionError(reason, null, null);
  const { line, column } = lineAndColumn(source, range.start);
  return new InvalidExpressionError(reason, line, column);
}

/** The longest runtime error message kept: the library quotes values (a missing key, say), which a policy author controls. */
const MAX_RUNTIME_MESSAGE = 500;

/** The message of a runtime error, without the library's source excerpt. */
export function runtimeErrorMessage(error: unknown): string {
  const { summary, message } = (error ?? {}) as { summary?: string; message?: string };
  const text = summary ?? message?.split('\n')[0] ?? String(error);
  return text.length > MAX_RUNTIME_MESSAGE ? `${text.slice(0, MAX_RUNTIME_MESSAGE - 1)}…` : text;
}
