"""Uploaded files behind one small interface: a folder, the database or an S3 bucket.

`STORAGE_BACKEND` picks one (`backends.create_storage`); the site's pages, the `/media/` route and
Piccolo Admin's media columns all go through the same instance.
"""
