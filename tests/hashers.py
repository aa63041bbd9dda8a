"""The password hasher of the test session: Django's own PBKDF2 (same
algorithm name, same code path, same hash format) with 1,000 iterations
instead of 1,000,000, so that creating users and logging in do not cost a
quarter of a second each. The iterations are stored in each hash, so a server
subprocess running the production settings verifies these hashes too."""
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1_000
