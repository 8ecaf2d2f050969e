export declare const HEAD: number;
export declare function fillRecord(view: Uint8Array, producer: number, seq: number): void;
export declare function checkRecord(view: Uint8Array): { producer: number; seq: number } | string;
export declare function rng(seed: number): () => number;
