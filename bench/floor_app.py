"""The two floors the HTTP benchmark compares the site against, served by the same gunicorn.

`/hello`: Flask's hello-world. `/read`: one primary-key read through Flask-SQLAlchemy
(`db.session.get`) on the site's own database (FLOOR_DATABASE_URL), of a random idea
among the first FLOOR_MAX_ID, the least any page that shows stored data can do.
"""
from __future__ import annotations

import os
import random

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("FLOOR_DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)
MAX_ID = int(os.environ.get("FLOOR_MAX_ID", "1000"))


class Idea(db.Model):
    __tablename__ = "ideas"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(160))


@app.get("/hello")
def hello():
    return "Hello, World!"


@app.get("/read")
def read():
    idea = db.session.get(Idea, random.randint(1, MAX_ID))
    return idea.title if idea is not None else "-"
