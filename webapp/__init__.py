"""The Streamlit app's own code (pages and helpers); the retrieval library stays UI-free."""
