import sys

# Guarded, and importing the server only here: a child process that multiprocessing
# spawns (compaction's merge process) imports this module again, and must neither start
# another server nor pay for importing one.
if __name__ == "__main__":
    from coreport.cli import main

    sys.exit(main())
