pub mod copy;
pub mod forms;
pub mod layout;
pub mod settings_tabs;
