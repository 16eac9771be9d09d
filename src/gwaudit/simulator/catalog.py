"""The catalogue one unit of a generated org is built from: credentials, providers, upstream
models, aliases and names (see :mod:`gwaudit.simulator.generate`)."""

from __future__ import annotations

# (slug, credential name, auth_type, base_url, settings, stores key material, catalog slug)
CREDENTIALS = (
    ("openai", "OpenAI Production", "bearer_api_key", "https://api.openai.com/v1", {}, True, "openai"),
    ("anthropic", "Anthropic Direct", "x_api_key", "https://api.anthropic.com", {}, True, "anthropic"),
    ("bedrock", "AWS Bedrock us-east-1", "aws_role", "https://bedrock-runtime.us-east-1.amazonaws.com",
     {"region": "us-east-1"}, False, "aws_bedrock"),
    ("azure_openai", "Azure OpenAI EU", "azure_api_key", "https://acme-eu.openai.azure.com/openai",
     {"api_version": "2024-10-21"}, True, "azure_openai"),
)
# (model_provider, provider name, credential index or None for an inline secret, auth, base_url, catalog slug)
PROVIDERS = (
    ("openai", "OpenAI Production", 0, None, None, "openai"),
    ("anthropic", "Anthropic Direct", 1, None, None, "anthropic"),
    ("bedrock", "Bedrock (us-east-1)", 2, None, None, "aws_bedrock"),
    ("azure_openai", "Azure OpenAI EU", 3, None, None, "azure_openai"),
    ("mistral", "Mistral La Plateforme", None, "bearer_api_key", "https://api.mistral.ai/v1", "mistral"),
    ("custom", "On-prem vLLM", None, "bearer_api_key", "http://vllm.internal:8000/v1", None),
)
MODELS = (
    ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o",
     "gpt-4o-2024-08-06", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o3", "o3-mini", "o4-mini", "o1",
     "gpt-4-turbo", "gpt-3.5-turbo", "text-embedding-3-small", "text-embedding-3-large"),
    ("claude-opus-4-1", "claude-opus-4-1-20250805", "claude-opus-4", "claude-sonnet-4-5",
     "claude-sonnet-4-5-20250929", "claude-sonnet-4", "claude-sonnet-4-20250514", "claude-haiku-4-5",
     "claude-3-7-sonnet-latest", "claude-3-5-sonnet-latest", "claude-3-5-haiku-latest",
     "claude-3-5-haiku-20241022", "claude-3-opus-latest", "claude-3-haiku-20240307"),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0",
     "anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
     "anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-3-70b-instruct-v1:0",
     "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0", "amazon.nova-premier-v1:0",
     "amazon.nova-pro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0",
     "mistral.mistral-large-2407-v1:0", "cohere.command-r-plus-v1:0", "amazon.titan-embed-text-v2:0",
     "cohere.embed-english-v3"),
    ("gpt-5-eu", "gpt-5-mini-eu", "gpt-4.1-eu", "gpt-4.1-mini-eu", "gpt-4o-eu", "gpt-4o-mini-eu", "o3-eu",
     "o3-mini-eu", "o4-mini-eu", "text-embedding-3-large-eu", "text-embedding-3-small-eu",
     "gpt-4o-realtime-eu", "gpt-4o-transcribe-eu", "gpt-4-turbo-eu", "gpt-35-turbo-eu", "dall-e-3-eu"),
    ("mistral-large-latest", "mistral-large-2411", "mistral-medium-latest", "mistral-small-latest",
     "mistral-small-2503", "codestral-latest", "codestral-2501", "pixtral-large-latest",
     "ministral-8b-latest", "ministral-3b-latest", "open-mistral-nemo", "mistral-embed"),
    ("llama-3.3-70b-instruct", "llama-3.1-8b-instruct", "qwen2.5-coder-32b-instruct", "qwen3-32b",
     "deepseek-r1-distill-llama-70b", "gemma-3-27b-it", "phi-4", "mixtral-8x7b-instruct",
     "nomic-embed-text-v1.5", "bge-m3"),
)
ALIASES = ("coder", "chat", "fast", "reasoning", "vision", "embed", "summarize", "translate", "support-bot",
           "sql-helper", "agent", "research", "draft", "classify", "extract", "review", "triage", "rag",
           "search", "long-context", "cheap", "premium", "eu-chat", "eu-embed", "batch", "eval-judge",
           "moderation", "code-review", "docs-qa", "default")
WILDCARDS = ((0, "gpt-4.1"), (1, "claude-3-5"), (4, "codestral"))
GROUPS = ("engineering", "data-science", "support", "sales", "research", "platform", "security", "finance")
ROLES = ("developer", "analyst", "viewer", "operator")
TEAMS = ("core", "atlas", "borealis", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "iris")
