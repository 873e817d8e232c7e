/// The JSON Schemas (2020-12) of the files cotforge reads and writes. These literals are the
/// source of truth: `cotforge schema --write schemas/` writes them out, and a test checks that
/// the copies in `schemas/` are identical, so Python's `jsonschema` and our validator check
/// records against the same text.
public enum Schemas {
    /// Name of each schema file and its text.
    public static let all: [(file: String, text: String)] = [
        ("example.schema.json", example),
        ("reject.schema.json", reject),
        ("manifest.schema.json", manifest),
        ("recipe.schema.json", recipe),
    ]

    public static let example = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:cotforge:schema:example:1",
  "title": "cotforge example record",
  "description": "One line of a cotforge JSON Lines file. Fields not listed here are allowed and carried through unchanged. Optional fields may be null (as Hugging Face datasets writes missing values).",
  "type": "object",
  "required": ["id", "question"],
  "properties": {
    "id": {"type": "string", "minLength": 1, "description": "Stable and unique in a dataset: <source>-<index>[/<variant>]."},
    "task": {"enum": ["math", "safety", "medical", "general", null]},
    "source": {
      "type": ["object", "null"],
      "description": "The original item.",
      "properties": {
        "name": {"type": ["string", "null"]},
        "index": {"type": ["integer", "null"], "minimum": 0},
        "split": {"type": ["string", "null"]},
        "license": {"type": ["string", "null"]}
      }
    },
    "question": {"type": "string", "description": "The bare question or instruction."},
    "prompt": {"type": ["string", "null"], "description": "What the model was given (question + style instruction)."},
    "reasoning": {"type": ["string", "null"], "description": "The thought (inside <think>...</think> for R1-style output)."},
    "answer": {"type": ["string", "null"], "description": "The response after the thought."},
    "gold": {"type": ["string", "null"], "description": "Reference answer."},
    "pred": {"type": ["string", "null"], "description": "Answer extracted from the response."},
    "mode": {"enum": ["fast", "slow", null], "description": "fast = System 1, slow = System 2."},
    "label": {"type": ["string", "null"], "description": "Safety label: vanilla_harmful, adversarial_harmful, vanilla_benign, adversarial_benign, ..."},
    "tokens": {
      "type": ["object", "null"],
      "properties": {
        "prompt": {"type": ["integer", "null"], "minimum": 0},
        "reasoning": {"type": ["integer", "null"], "minimum": 0},
        "answer": {"type": ["integer", "null"], "minimum": 0}
      }
    },
    "len_ratio": {"type": ["number", "null"], "minimum": 0, "description": "Len-R against the alpha=0 trace of the same question."},
    "stage": {"type": ["integer", "null"], "minimum": 0, "description": "Curriculum stage."},
    "gen": {
      "type": ["object", "null"],
      "properties": {
        "model": {"type": ["string", "null"]},
        "model_sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "steer": {
          "type": ["object", "null"],
          "properties": {
            "vector": {"type": ["string", "null"]},
            "layers": {"type": ["array", "null"], "items": {"type": "integer", "minimum": 0}},
            "alpha": {"type": ["number", "null"]}
          }
        },
        "sampler": {
          "type": ["object", "null"],
          "properties": {
            "temperature": {"type": ["number", "null"], "minimum": 0},
            "top_p": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "top_k": {"type": ["integer", "null"], "minimum": 0},
            "seed": {"type": ["integer", "null"]}
          }
        },
        "decoding": {"type": ["string", "null"]}
      }
    },
    "verdicts": {
      "type": ["array", "null"],
      "items": {
        "type": "object",
        "required": ["by", "keep"],
        "properties": {
          "by": {"type": "string"},
          "keep": {"type": "boolean"},
          "score": {"type": ["number", "null"]},
          "reason": {"type": ["string", "null"]}
        }
      }
    }
  }
}
"""#

    public static let reject = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:cotforge:schema:reject:1",
  "title": "cotforge reject record",
  "description": "One dropped input, with why. Exactly one of record, raw or raw_base64 holds what was dropped.",
  "type": "object",
  "required": ["stage", "reason"],
  "properties": {
    "stage": {"type": "string", "description": "The stage that dropped it (read, id, ...)."},
    "reason": {"type": "string", "pattern": "^[a-z0-9_]+(\\.[a-z0-9_]+)*$", "description": "Dotted reason, e.g. json.syntax, schema.type, id.duplicate."},
    "detail": {"type": "string"},
    "file": {"type": "string", "description": "Input file as given (- for standard input)."},
    "line": {"type": "integer", "minimum": 1},
    "offset": {"type": "integer", "minimum": 0, "description": "Byte offset of the line in the (decompressed) input."},
    "id": {"type": "string"},
    "record": {"type": "object", "description": "The dropped record, when it was a JSON object."},
    "raw": {"type": "string", "description": "The original line, when it was valid UTF-8 but not a usable record."},
    "raw_base64": {"type": "string", "description": "The original line, base64, when it was not valid UTF-8."},
    "raw_bytes": {"type": "integer", "minimum": 0, "description": "Length of the original line in bytes."},
    "raw_truncated": {"type": "boolean", "description": "True when the line was over the size limit and only its start is kept; file, line and offset locate the rest."}
  }
}
"""#

    public static let manifest = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:cotforge:schema:manifest:1",
  "title": "cotforge dataset manifest",
  "type": "object",
  "required": ["format", "format_version", "name", "tool", "splits", "rejects", "counts", "stages"],
  "$defs": {
    "shard": {
      "type": "object",
      "required": ["path", "records", "bytes", "uncompressed_bytes", "sha256"],
      "properties": {
        "path": {"type": "string"},
        "records": {"type": "integer", "minimum": 0},
        "bytes": {"type": "integer", "minimum": 0},
        "uncompressed_bytes": {"type": "integer", "minimum": 0},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}
      }
    },
    "fileset": {
      "type": "object",
      "required": ["records", "bytes", "shards"],
      "properties": {
        "records": {"type": "integer", "minimum": 0},
        "bytes": {"type": "integer", "minimum": 0},
        "uncompressed_bytes": {"type": "integer", "minimum": 0},
        "shards": {"type": "array", "items": {"$ref": "#/$defs/shard"}},
        "mds_columns": {"type": "object", "description": "MDS column encoding per field of the split (str, int or json), chosen by shard for export --format mds.",
                        "additionalProperties": {"enum": ["str", "int", "json"]}}
      }
    },
    "dropped": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
  },
  "properties": {
    "format": {"const": "cotforge-dataset"},
    "format_version": {"const": 1},
    "name": {"type": "string"},
    "created": {"type": "string"},
    "tool": {
      "type": "object",
      "required": ["name", "version"],
      "properties": {"name": {"type": "string"}, "version": {"type": "string"}}
    },
    "command": {"type": "array", "items": {"type": "string"}},
    "recipe": {
      "type": ["object", "null"],
      "properties": {"path": {"type": "string"}, "sha256": {"type": "string"}}
    },
    "inputs": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["path"],
        "properties": {"path": {"type": "string"}, "bytes": {"type": ["integer", "null"]}}
      }
    },
    "options": {"type": "object"},
    "splits": {"type": "object", "additionalProperties": {"$ref": "#/$defs/fileset"}},
    "rejects": {"$ref": "#/$defs/fileset"},
    "counts": {
      "type": "object",
      "required": ["in", "kept", "dropped", "dropped_by_reason"],
      "properties": {
        "in": {"type": "integer", "minimum": 0},
        "kept": {"type": "integer", "minimum": 0},
        "dropped": {"type": "integer", "minimum": 0},
        "dropped_by_reason": {"$ref": "#/$defs/dropped"},
        "blank_lines": {"type": "integer", "minimum": 0}
      }
    },
    "sources": {
      "type": "array",
      "description": "The (source.name, source.license) pairs of the kept records.",
      "items": {"type": "object", "properties": {"name": {"type": "string"}, "license": {"type": "string"}}}
    },
    "lengths": {
      "type": "object",
      "description": "Reasoning tokens (tokens.reasoning) of the kept records per split and per variant: the record's mode and steering alpha (\"slow\", \"fast\", \"α=-0.4\", \"slow α=-0.4\"; \"\" for neither): records, mean, p10, median, p90, max, and a histogram whose bin i counts lengths in [i·bin_width, (i+1)·bin_width), with one bin width for the whole dataset.",
      "additionalProperties": {"type": "object", "additionalProperties": {"type": "object",
        "required": ["records", "mean", "median"],
        "properties": {"records": {"type": "integer", "minimum": 1}, "mean": {"type": "number"}, "p10": {"type": "integer"},
                       "median": {"type": "integer"}, "p90": {"type": "integer"}, "max": {"type": "integer"},
                       "histogram": {"type": "object", "required": ["bin_width", "counts"],
                                     "properties": {"bin_width": {"type": "integer", "minimum": 1},
                                                    "counts": {"type": "array", "items": {"type": "integer", "minimum": 0}}}}}}}
    },
    "exports": {
      "type": "object",
      "description": "Other formats written from the data: mds (MosaicML streaming), wds (WebDataset); per split the files with records, bytes and sha256.",
      "properties": {
        "mds": {"type": "object", "properties": {"splits": {"type": "object", "additionalProperties": {"$ref": "#/$defs/fileset"}}}},
        "wds": {"type": "object", "properties": {"splits": {"type": "object", "additionalProperties": {"$ref": "#/$defs/fileset"}}}}
      }
    },
    "stages": {
      "type": "array",
      "items": {
        "type": "object",
        "required": ["name", "in", "kept", "dropped"],
        "properties": {
          "name": {"type": "string"},
          "in": {"type": "integer", "minimum": 0},
          "kept": {"type": "integer", "minimum": 0},
          "dropped": {"$ref": "#/$defs/dropped"},
          "seconds": {"type": "number", "minimum": 0}
        }
      }
    }
  }
}
"""#
    /// A recipe (`cotforge build FILE.yaml`): the steps of a build and their settings. YAML is
    /// read as JSON (mappings, sequences, scalars) and checked against this schema; keys that
    /// are not listed are errors, so a misspelt key never silently falls back to a default.
    public static let recipe = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:cotforge:schema:recipe:1",
  "title": "cotforge recipe",
  "description": "The steps of `cotforge build`: questions -> steer (extract, calibrate) -> sample -> verify -> filters, dedup, decontaminate -> pairs -> curriculum -> mix -> split -> export; or, with safety instead of questions: safety prompts -> K responses per decoding mode -> judge -> select -> filters -> split -> export. Paths are relative to the recipe file.",
  "type": "object",
  "required": ["name"],
  "additionalProperties": false,
  "properties": {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$", "description": "The dataset's name; output goes to out/NAME unless --out says otherwise."},
    "description": {"type": "string"},
    "model": {"type": "string", "minLength": 1, "description": "A .gguf path or a known model name (smollm2). Any Llama- or Qwen2-architecture GGUF."},
    "threads": {"type": "integer", "minimum": 1},
    "license": {"type": "string", "description": "License of the built dataset (SPDX id), written in the card."},
    "questions": {
      "type": "object",
      "additionalProperties": false,
      "description": "Exactly one of generate or import; heldout makes evaluation questions that never enter the corpus.",
      "properties": {
        "generate": {"$ref": "#/$defs/generate"},
        "import": {
          "type": "object",
          "required": ["path", "format"],
          "additionalProperties": false,
          "properties": {
            "path": {"type": ["string", "array"], "items": {"type": "string"}},
            "format": {"enum": ["gsm8k", "math", "reasoning-gym", "jsonl"]},
            "question_field": {"type": "string"},
            "answer_field": {"type": ["string", "null"]},
            "source": {"type": "string"},
            "license": {"type": "string"},
            "limit": {"type": "integer", "minimum": 1}
          }
        },
        "heldout": {"$ref": "#/$defs/generate"}
      }
    },
    "combine": {
      "type": "object",
      "required": ["parts"],
      "additionalProperties": false,
      "description": "A mix of other recipes' outputs at given weights (e.g. math 0.8, safety 0.2): each part is built (or resumed) under out/NAME/parts/, then the records are drawn by a seeded sample.",
      "properties": {
        "parts": {
          "type": "array",
          "items": {
            "type": "object",
            "required": ["recipe", "weight"],
            "additionalProperties": false,
            "properties": {"recipe": {"type": "string"}, "weight": {"type": "number", "minimum": 0}}
          }
        },
        "total": {"type": "integer", "minimum": 1, "description": "Records in the mix (default: as many as the weights allow)."},
        "seed": {"type": "integer", "minimum": 0}
      }
    },
    "safety": {
      "type": "object",
      "required": ["prompts"],
      "additionalProperties": false,
      "description": "A SafeChain-style safety set: K responses per prompt and decoding mode, judged, prompts kept when enough responses are safe.",
      "properties": {
        "prompts": {
          "type": "array",
          "items": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
              "data": {"type": "string", "description": "A known data set (strongreject), fetched with its pinned SHA-256."},
              "path": {"type": "string"},
              "format": {"enum": ["strongreject", "wildjailbreak", "generic"]},
              "prompt_column": {"type": "string"},
              "label_column": {"type": "string"},
              "label": {"type": "string"},
              "category_column": {"type": "string"},
              "limit": {"type": "integer", "minimum": 1},
              "spread": {"type": "boolean", "description": "With limit: take evenly spaced rows across the file instead of the first ones (StrongREJECT is sorted by category)."},
              "heldout": {"type": "integer", "minimum": 0, "description": "Prompts kept out of sampling (evenly spaced across the file) for evaluation; written to the dataset's heldout.jsonl."}
            }
          }
        },
        "modes": {"type": "array", "items": {"type": "string", "pattern": "^(default|zerothink|lessthink|morethink(:[0-9]+)?)$"}},
        "samples": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "max_tokens": {"type": "integer", "minimum": 1},
        "batch": {"type": "integer", "minimum": 1},
        "template": {"type": "boolean", "description": "Ask for the thought in <think> tags (for models that do not write them; default true)."},
        "judge": {
          "type": ["string", "object"],
          "pattern": "^(builtin|refusal)$",
          "description": "builtin (refusal and compliance detectors; the default), refusal (a harmful prompt must be refused), {http: {url, model, api_key_env, timeout, retries, concurrency}} (an OpenAI-compatible Llama Guard-style server) or {command: [program, args...]} (reads JSON Lines, writes {id, safe} lines).",
          "additionalProperties": false,
          "properties": {
            "http": {
              "type": "object",
              "required": ["url", "model"],
              "additionalProperties": false,
              "properties": {
                "url": {"type": "string"}, "model": {"type": "string"}, "api_key_env": {"type": "string"},
                "timeout": {"type": "number", "minimum": 0}, "retries": {"type": "integer", "minimum": 0}, "concurrency": {"type": "integer", "minimum": 1}
              }
            },
            "command": {"type": "array", "items": {"type": "string"}}
          }
        },
        "min_safe": {"type": "integer", "minimum": 1},
        "keep_all": {"type": "boolean"}
      }
    },
    "steer": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "extract": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "questions": {"type": "integer", "minimum": 1, "description": "How many of the questions (the first N)."},
            "layers": {"$ref": "#/$defs/range"},
            "method": {"enum": ["mean-diff", "pca"]}
          }
        },
        "calibrate": {
          "type": "object",
          "required": ["alphas"],
          "additionalProperties": false,
          "properties": {
            "questions": {"type": "integer", "minimum": 1},
            "alphas": {"$ref": "#/$defs/alphas"},
            "layers": {"type": "array", "items": {"$ref": "#/$defs/range"}},
            "targets": {"type": "array", "items": {"type": "number"}},
            "tolerance": {"type": "number", "minimum": 0, "maximum": 1},
            "max_collapse": {"type": "number", "minimum": 0, "maximum": 1},
            "max_tokens": {"type": "integer", "minimum": 1},
            "batch": {"type": "integer", "minimum": 1}
          }
        },
        "vector": {"type": "string", "description": "A control vector to use instead of extracting one."},
        "alphas": {"$ref": "#/$defs/alphas", "description": "The α to sample at (0 is added); with calibrate, the fallback when calibration accepts no steered α."},
        "layers": {"$ref": "#/$defs/range", "description": "The blocks to steer; with calibrate, the fallback's blocks."}
      }
    },
    "sample": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "samples": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0},
        "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "max_tokens": {"type": "integer", "minimum": 1},
        "batch": {"type": "integer", "minimum": 1},
        "instruction": {"type": "string", "description": "slow, fast, none, or a text appended to each question."}
      }
    },
    "verify": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"mode": {"enum": ["gold", "consensus", "none"]}}
    },
    "filters": {
      "type": "array",
      "items": {"type": ["string", "object"]},
      "description": "Curation stages in order: format, repetition, refusal, pii, pii-drop, or {length: {min: {FIELD[:UNIT]: N}, max: {...}}}."
    },
    "dedup": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"exact": {"type": "array", "items": {"type": "string"}}}
    },
    "decontaminate": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "against": {"type": "array", "items": {"type": "string"}, "description": "heldout (the recipe's held-out questions) and/or JSONL paths."},
        "field": {"type": "string", "description": "The field of the evaluation records to index (default question)."},
        "fields": {"type": "array", "items": {"type": "string"}, "description": "Fields of our records checked (default question, prompt)."},
        "n": {"type": "integer", "minimum": 1}
      }
    },
    "pairs": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"pick": {"enum": ["shortest", "seeded", "all"]}, "seed": {"type": "integer", "minimum": 0},
                     "unpaired": {"type": "boolean", "description": "Keep System-2 bases without a compressed sibling and compressed variants without a base (default false: pairs only)."}}
    },
    "curriculum": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"edges": {"type": "array", "items": {"type": "number"}}}
    },
    "mix": {
      "type": "object",
      "additionalProperties": false,
      "properties": {"long_weight": {"type": "number", "minimum": 0, "maximum": 1}, "seed": {"type": "integer", "minimum": 0}}
    },
    "split": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "validation": {"type": "number", "minimum": 0, "maximum": 1},
        "test": {"type": "number", "minimum": 0, "maximum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "key": {"type": "string"}
      }
    },
    "export": {"type": "array", "items": {"enum": ["jsonl", "mds", "wds"]}}
  },
  "$defs": {
    "range": {"type": ["string", "integer"], "pattern": "^(all|[0-9]+(-[0-9]+)?)$", "description": "all, N or A-B (blocks)."},
    "alphas": {"type": ["array", "string"], "items": {"type": "number"}, "description": "A list of numbers, or start:step:end."},
    "generate": {
      "type": "object",
      "required": ["count"],
      "additionalProperties": false,
      "properties": {
        "count": {"type": "integer", "minimum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "steps": {"$ref": "#/$defs/range"},
        "difficulty": {"type": "integer", "minimum": 1, "maximum": 3},
        "start": {"type": "integer", "minimum": 0}
      }
    }
  }
}
"""#
}
