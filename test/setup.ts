// Tests never read the developer's ./data or secrets: each builds its own config.
process.env.LOG_LEVEL ??= "error";
