"""Entry point: `python -m bench [--quick]`."""

# Spawned child processes import this module too (as __mp_main__): it must import nothing, so
# that a baseline's bot process can put an older bot/ on sys.path before anything loads bot.
if __name__ == "__main__":
    from bench.run import main

    raise SystemExit(main())
