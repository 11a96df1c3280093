"""The SaaS layer: sign-up and onboarding, plans, module catalogue, the web portal."""
